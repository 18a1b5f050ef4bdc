import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { resolveCloud } from "../../src/clouds/index.js";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import { CONTROL_PLANE_LABEL, StandInTypes as T, type ClusterObject, type MachineObject } from "../../src/demo/capi-types.js";
import { createSession, type OpenStackSession } from "../../src/openstack/index.js";
import { CoreTypes, KubeClient, Manager, Metrics, isNotFound } from "../../src/runtime/index.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import {
  CLI,
  FloatingIPWatcher,
  ROOT,
  SEED,
  SEED_WORLD,
  bash,
  capo,
  ensureOpenstackClient,
  inventory,
  openstack,
  readyOf,
  seedCloudsYaml,
  seedOpenstackRc,
  shQuote,
  until,
  type Condition,
  type OpenStackMachine,
} from "./seed-walkthrough-helpers.js";

// The seed document (/work/shared/seed/000_14ff5d16a89ccbf2.txt) end to end, the capo-ts way: its clouds.yaml,
// `capo env` instead of env.rc + yq, python3-openstackclient and `capo preflight` against the OpenStack simulator,
// its v1alpha3 manifests through `capo convert` and applied to a real kube-apiserver, our controllers in this
// process, and the CAPI core stand-in (src/demo) creating Machines from the KubeadmControlPlane and MachineDeployment.
// Then the seed's known problems, each provoked: floating IP reclaimed before the control plane exists, KCP
// 1 -> 3 -> 1 -> 3, a control-plane VM deleted behind our back, and a delete that must leave nothing in OpenStack.
// docs/seed-walkthrough.md walks through the same steps.

interface OpenStackCluster extends KubernetesObject {
  spec?: { controlPlaneEndpoint?: { host?: string; port?: number }; externalNetwork?: unknown };
  status?: {
    initialization?: { provisioned?: boolean };
    apiServerFloatingIP?: { id: string; ip: string };
    externalNetwork?: { id: string; name?: string };
    network?: { id: string; name?: string };
    conditions?: Condition[];
  };
}

type Doc = KubernetesObject & { spec?: Record<string, unknown>; data?: Record<string, string> };

const KCP = `${SEED.cluster}-control-plane`;
const MD = `${SEED.cluster}-md-0`;

describe("the seed's walkthrough with capo-ts (simulator + kube-apiserver + controllers + CAPI core stand-in)", () => {
  const ns = useTestNamespace("seed");
  const kubeconfigPath = inject("kubeconfigPath");
  const controllerLog: string[] = [];
  const standInLog: string[] = [];
  let sim: RunningSimulator;
  let dir: string;
  let clouds: string;

  /** The one thing capo env says on stderr for the seed's clouds.yaml: its `auth.version` is ignored. */
  function expectOnlyAuthVersionWarning(stderr: string, cloud: string): void {
    const lines = stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(`warning: ${clouds}: cloud "${cloud}" key auth.version is not supported`), lines[0]).toBe(true);
    expect(lines[0]).toContain("identity_api_version: 3");
  }
  let cacertPem: string;
  let userEnv: NodeJS.ProcessEnv;
  let osEnv: NodeJS.ProcessEnv;
  let client: KubeClient;
  let session: OpenStackSession;
  let manager: Manager | undefined;
  let standIn: CapiCoreStandIn | undefined;
  let watcher: FloatingIPWatcher | undefined;
  // Carried from step to step, as the seed's reader carries them.
  let envVars: Record<string, string>;
  let externalNetworkID: string;
  let converted: Doc[];
  let healthChecks: Doc[];
  let fip: { id: string; ip: string };
  let firstHolder: string;

  const get = async <O extends KubernetesObject>(type: typeof T[keyof typeof T], name: string): Promise<O | undefined> => {
    try {
      return await client.get<O>(type, ns.name, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const osc = () => get<OpenStackCluster>(T.openStackCluster, SEED.cluster);
  const osm = (name: string) => get<OpenStackMachine>(T.openStackMachine, name);
  const machines = async (role: "cp" | "worker") =>
    (await client.list<MachineObject>(T.machine, { namespace: ns.name, labelSelector: role === "cp" ? CONTROL_PLANE_LABEL : `!${CONTROL_PLANE_LABEL}` })).items;
  const project = () => inventory(sim, SEED.project);
  const docsOf = (...kinds: string[]) => kinds.map((k) => converted.filter((d) => d.kind === k)).flat();
  const applyDocs = (docs: Doc[]) => applyManifests(testKubeConfig(), docs.map((d) => `---\n${stringify(d)}`).join(""), { namespace: ns.name });
  /** The management cluster flags every kubectl-like capo command takes. */
  const withNs = () => ["-n", ns.name, "--kubeconfig", kubeconfigPath];

  /**
   * Waits until the role has exactly `n` Machines, none being deleted, each with its OpenStackMachine provisioned
   * and Ready, and OpenStack has exactly those servers (no orphans, nothing missing), all ACTIVE.
   */
  async function waitMachines(role: "cp" | "worker", n: number, ms = 90_000): Promise<MachineObject[]> {
    const prefix = role === "cp" ? `${KCP}-` : `${MD}-`;
    return until(
      `${n} provisioned ${role === "cp" ? "control-plane" : "worker"} machines`,
      async () => {
        const list = await machines(role);
        if (list.length !== n || list.some((m) => m.metadata?.deletionTimestamp)) return undefined;
        for (const m of list) {
          const o = await osm(m.metadata?.name ?? "");
          if (!o?.status?.initialization?.provisioned || readyOf(o)?.status !== "True") return undefined;
          if (m.status?.phase !== "Provisioned") return undefined;
        }
        const servers = ((await project()).resources["servers"] ?? []).filter((s) => s.name?.startsWith(prefix));
        const names = list.map((m) => m.metadata?.name ?? "").sort();
        if (JSON.stringify(servers.map((s) => s.name).sort()) !== JSON.stringify(names)) return undefined;
        return servers.every((s) => s.status === "ACTIVE") ? list : undefined;
      },
      ms,
    );
  }

  const patchReplicas = (kind: "kcp" | "md", replicas: number) =>
    client.patch(kind === "kcp" ? T.kubeadmControlPlane : T.machineDeployment, kind === "kcp" ? KCP : MD, { spec: { replicas } }, "merge", {
      namespace: ns.name,
    });

  beforeAll(async () => {
    await ensureOpenstackClient();
    expect(existsSync(CLI), `${CLI} missing: run \`npx tsc -p tsconfig.json\` first`).toBe(true);
    sim = await startTestSimulator({ config: SEED_WORLD });
    dir = await mkdtemp(join(tmpdir(), "capo-seed-"));

    // The seed's cacert.pem is the CA of its cloud; the one in the seed's Secret stands in for it.
    const fixture = await readFile(join(ROOT, "test", "fixtures", "seed-v1alpha3.yaml"), "utf8");
    const secret = parseAllDocuments(fixture)[0]?.toJS() as Doc;
    cacertPem = Buffer.from(secret.data?.["cacert"] ?? "", "base64").toString("utf8");
    await writeFile(join(dir, "cacert.pem"), cacertPem);
    clouds = join(dir, "clouds.yaml");
    await writeFile(clouds, seedCloudsYaml(`${sim.url}/identity`, join(dir, "cacert.pem")), { mode: 0o600 });

    // A yq 4.x on PATH that records being called: the seed's env.rc broke on it; capo env must not call it at all.
    const bin = join(dir, "bin");
    await mkdir(bin);
    await writeFile(join(bin, "yq"), `#!/bin/sh\necho "yq called: $*" >> ${JSON.stringify(join(dir, "yq-called"))}\necho "yq (https://github.com/mikefarah/yq/) version 4.44.3"\nexit 97\n`);
    await chmod(join(bin, "yq"), 0o755);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OS_|OPENSTACK_|CAPO_|KUBECONFIG$)/.test(k)));
    userEnv = { ...clean, PATH: `${bin}:${process.env["PATH"] ?? ""}`, HOME: dir, CLOUDS: clouds };
    const rc = seedOpenstackRc(`${sim.url}/identity`);
    osEnv = { ...userEnv, ...rc };
    await writeFile(join(dir, "openstackrc"), Object.entries(rc).map(([k, v]) => `export ${k}=${shQuote(v)}\n`).join(""), { mode: 0o600 });
    userEnv["OPENSTACKRC"] = join(dir, "openstackrc");

    client = new KubeClient(testKubeConfig());
    session = createSession(await resolveCloud({ file: clouds, cloud: "mycloud_default", env: {} }));

    // Our controllers, as `capo controller` runs them, in this process and this namespace; a short resync so that
    // out-of-band changes in OpenStack are noticed within seconds.
    const log = capturingLogger(controllerLog, "info");
    manager = new Manager({ kubeConfig: testKubeConfig(), log, namespace: ns.name, metrics: new Metrics(), syncPeriodMs: 2_000, shutdownTimeoutMs: 10_000 });
    manager.add(openStackClusterController({ backoffBaseMs: 100, backoffMaxMs: 2_000, machinesGoneRequeueMs: 300, terminalRequeueMs: 2_000 }));
    manager.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 1_000, recheckMs: 2_000 }));
    await manager.start();
    // CAPI core, kubeadm bootstrap and control-plane providers: the stand-in plays their part.
    standIn = new CapiCoreStandIn({ kubeConfig: testKubeConfig(), namespace: ns.name, intervalMs: 200, log: (l) => standInLog.push(l) });
    standIn.start();
  }, 600_000);

  // A failed step shows what the controllers and the stand-in were doing.
  afterEach(({ task }) => {
    if (task.result?.state !== "fail") return;
    console.log(`--- stand-in (last 30 lines)\n${standInLog.slice(-30).join("\n")}\n--- controllers (last 30 lines)\n${controllerLog.slice(-30).join("\n")}`);
  });

  afterAll(async () => {
    await watcher?.stop();
    await standIn?.stop();
    await manager?.stop();
    await closeCachedSessions();
    await session?.close();
    client?.close();
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("capo env prints env.rc's variables for mycloud_default (no yq), and the seed's verify lines decode them", async () => {
    const r = await bash(
      [
        "set -eu",
        'eval "$(capo env --file "$CLOUDS" --cloud mycloud_default)"',
        "echo $CAPO_CLOUD",
        "echo $OPENSTACK_CLOUD",
        "echo '~~~'",
        "echo $OPENSTACK_CLOUD_CACERT_B64 | base64 -d",
        "echo '~~~'",
        "echo $OPENSTACK_CLOUD_PROVIDER_CONF_B64 | base64 -d",
        "echo '~~~'",
        "echo $OPENSTACK_CLOUD_YAML_B64 | base64 -d",
      ].join("\n"),
      userEnv,
    );
    expectOnlyAuthVersionWarning(r.stderr, "mycloud_default");
    expect(r.code).toBe(0);
    const [names = "", cacert = "", conf = "", yaml = ""] = r.stdout.split("~~~\n");
    expect(names).toBe("mycloud_default\nmycloud_default\n");
    expect(cacert).toBe(cacertPem);
    // The seed's [Global] section, with the simulator's auth URL; domain and project as the duplicate keys resolve.
    expect(conf.trimEnd().split("\n")).toEqual([
      "[Global]",
      `auth-url="${sim.url}/identity"`,
      `username="${SEED.user}"`,
      `password="${SEED.password}"`,
      `tenant-name="${SEED.project}"`,
      `domain-name="${SEED.domain}"`,
      'ca-file="/etc/certs/cacert"',
      `region="${SEED.region}"`,
    ]);
    const decoded = parse(yaml) as { clouds: Record<string, { auth: Record<string, unknown>; region_name: string }> };
    expect(Object.keys(decoded.clouds)).toEqual(["mycloud_default"]);
    expect(decoded.clouds["mycloud_default"]?.auth).toMatchObject({ project_name: SEED.project, tenant_name: SEED.project, password: SEED.password });
    expect(decoded.clouds["mycloud_default"]?.region_name).toBe(SEED.region);
    expect(existsSync(join(dir, "yq-called")), "capo env called yq").toBe(false);

    const json = await capo(["env", "--file", clouds, "--cloud", "mycloud_default", "--shell", "json"], userEnv);
    expect(json.code, json.stderr).toBe(0);
    envVars = JSON.parse(json.stdout) as Record<string, string>;
    expect(Object.keys(envVars).sort()).toEqual(["CAPO_CLOUD", "OPENSTACK_CLOUD", "OPENSTACK_CLOUD_CACERT_B64", "OPENSTACK_CLOUD_PROVIDER_CONF_B64", "OPENSTACK_CLOUD_YAML_B64"]);
  });

  it("running it again for another cloud, then capo env --unset, leaves no OPENSTACK_*/CAPO_* variable behind", async () => {
    const r = await bash(
      [
        "set -eu",
        // The seed's manual variables from an earlier session, then env.rc's for mycloud_dev2.
        "export OPENSTACK_EXTERNAL_NETWORK_ID=375af7fe-a2c1-4c26-a57d-6d33175a6650 OPENSTACK_SSH_KEY_NAME=old-key CAPO_LEFTOVER=1",
        'eval "$(capo env --file "$CLOUDS" --cloud mycloud_dev2)"',
        "echo $OPENSTACK_CLOUD_YAML_B64 | base64 -d | grep -E '^ +(project_name|tenant_name):'",
        "echo '~~~'",
        'eval "$(capo env --unset)"',
        "env | grep -E '^(OPENSTACK|CAPO)_' | cut -f1 -d= || true",
        "echo '~~~'",
      ].join("\n"),
      userEnv,
    );
    expectOnlyAuthVersionWarning(r.stderr, "mycloud_dev2");
    expect(r.code).toBe(0);
    const [dev2 = "", left = ""] = r.stdout.split("~~~\n");
    expect(dev2.trim().split("\n").map((l) => l.trim())).toEqual(["project_name: dev2", "tenant_name: dev2"]);
    expect(left).toBe("");
  });

  it("python3-openstackclient with the seed's openstackrc (key pair, external network id), and capo preflight passes", async () => {
    await writeFile(join(dir, "id.pub"), `${generateSshKeypair("seed@capo").publicKey}\n`);
    const key = await openstack(["keypair", "create", "--public-key", join(dir, "id.pub"), SEED.sshKey, "-f", "value", "-c", "name"], osEnv);
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout.trim()).toBe(SEED.sshKey);
    // The seed's script to find OPENSTACK_EXTERNAL_NETWORK_ID.
    const net = await openstack(["network", "show", SEED.externalNetwork, "-f", "value", "-c", "id"], osEnv);
    expect(net.code, net.stderr).toBe(0);
    externalNetworkID = net.stdout.trim();
    expect(externalNetworkID).toMatch(/^[0-9a-f-]{36}$/);

    const r = await capo(
      [
        "preflight",
        "--file", clouds,
        "--cloud", "mycloud_default",
        "--external-network", SEED.externalNetwork,
        "--image", SEED.image,
        "--control-plane-flavor", SEED.flavor,
        "--worker-flavor", SEED.flavor,
        "--ssh-key", SEED.sshKey,
        "--availability-zone", "nova",
        "--control-plane-count", "3",
        "--worker-count", "1",
      ],
      userEnv,
    );
    expect(r.stderr).toBe("");
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`✓ authenticated to cloud mycloud_default (region ${SEED.region})`);
    expect(lines[1]).toBe(`✓ external network ${SEED.externalNetwork} (${externalNetworkID})`);
    expect(lines.slice(0, -1).every((l) => l.startsWith("✓ ")), r.stdout).toBe(true);
    expect(lines.at(-1)).toMatch(/^all \d+ checks passed; nothing was created in the cloud$/);
    expect(r.stdout).not.toContain(SEED.password);
    // Checking creates nothing: only the user's key pair exists in the project.
    const { counts } = await project();
    expect(Object.entries(counts).filter(([, n]) => n > 0)).toEqual([["keypairs", 1]]);
  });

  it("capo generate cluster replaces `clusterctl config cluster` with the seed's variables, MachineHealthChecks included", async () => {
    const out = join(dir, "generated.yaml");
    const r = await bash(
      [
        "set -eu",
        'eval "$(capo env --file "$CLOUDS" --cloud mycloud_default)"',
        // The seed's manually set variables, its external network script included.
        `export OPENSTACK_SSH_KEY_NAME=${SEED.sshKey} OPENSTACK_DNS_NAMESERVERS=8.8.8.8 OPENSTACK_FAILURE_DOMAIN=nova`,
        `export OPENSTACK_EXTERNAL_NETWORK_ID=$(. "$OPENSTACKRC" && openstack network show ${SEED.externalNetwork} -f value -c id)`,
        `export OPENSTACK_IMAGE_NAME=${SEED.image} OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR=${SEED.flavor} OPENSTACK_NODE_MACHINE_FLAVOR=${SEED.flavor}`,
        `capo generate cluster ${SEED.cluster} --flavor without-lb --kubernetes-version v1.19.1 -n ${ns.name} -o ${JSON.stringify(out)}`,
      ].join("\n"),
      userEnv,
    );
    // capo env warns; capo generate reads the variables it exported and has nothing to add.
    expectOnlyAuthVersionWarning(r.stderr, "mycloud_default");
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(await readFile(out, "utf8")).map((d) => d.toJS() as Doc);
    const cluster = docs.find((d) => d.kind === "OpenStackCluster");
    expect(cluster?.spec?.["externalNetwork"]).toEqual({ id: externalNetworkID });
    healthChecks = docs.filter((d) => d.kind === "MachineHealthCheck");
    expect(healthChecks.map((h) => h.metadata?.name)).toEqual([`${SEED.cluster}-control-plane-unhealthy`, `${SEED.cluster}-md-0-unhealthy`]);
    for (const h of healthChecks) {
      expect((h.spec?.["checks"] as { unhealthyMachineConditions?: unknown }).unhealthyMachineConditions).toEqual([
        { type: "InfrastructureReady", status: "False", timeoutSeconds: 600 },
      ]);
    }
    // Everything server-side validates (nothing is created: the seed's own manifests are used next).
    await applyManifests(testKubeConfig(), await readFile(out, "utf8"), { namespace: ns.name, dryRun: true });
  });

  it("capo convert takes the seed's v1alpha3 manifests to v1beta2; Secret + OpenStackCluster + Cluster give the seed's network, router, security groups and a floating IP recorded in status", async () => {
    const out = join(dir, "basic-1.yaml");
    const r = await capo(["convert", "-f", join(ROOT, "test", "fixtures", "seed-v1alpha3.yaml"), "-o", out], userEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: KubeadmControlPlane default\/basic-1-control-plane: .*cloud-provider=openstack \(in-tree\)/m);
    converted = parseAllDocuments(await readFile(out, "utf8")).map((d) => d.toJS() as Doc);
    expect(converted.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      "v1 Secret",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackCluster",
      "cluster.x-k8s.io/v1beta2 Cluster",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate",
      "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate",
      "bootstrap.cluster.x-k8s.io/v1beta2 KubeadmConfigTemplate",
      "cluster.x-k8s.io/v1beta2 MachineDeployment",
    ]);
    // What must point at this cloud: the Secret holds what `capo env` rendered (the seed pasted it by hand), and
    // the external network is named instead of the seed's drifting ID.
    for (const d of converted) d.metadata = { ...d.metadata, namespace: ns.name };
    const secret = docsOf("Secret")[0]!;
    secret.data = { "clouds.yaml": envVars["OPENSTACK_CLOUD_YAML_B64"]!, cacert: envVars["OPENSTACK_CLOUD_CACERT_B64"]! };
    const cluster = docsOf("OpenStackCluster")[0]!;
    expect(cluster.spec?.["externalNetwork"]).toEqual({ id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" });
    cluster.spec = { ...cluster.spec, externalNetwork: { filter: { name: SEED.externalNetwork } } };

    await applyDocs([...docsOf("Secret", "OpenStackCluster", "Cluster"), ...healthChecks]);
    // Provisioned and Ready may land in separate status writes: wait for both.
    const o = await until("OpenStackCluster provisioned and Ready", async () => {
      const x = await osc();
      return x?.status?.initialization?.provisioned && readyOf(x)?.status === "True" && x.status.apiServerFloatingIP ? x : undefined;
    });
    expect(o.status?.externalNetwork?.id).toBe(externalNetworkID);

    // The seed's list of what exists now, with its names (namespace "default" there, ours here).
    const inv = await project();
    const names = (k: string) => (inv.resources[k] ?? []).map((x) => x.name).sort();
    const base = `k8s-clusterapi-cluster-${ns.name}-${SEED.cluster}`;
    expect(names("networks")).toEqual([base]);
    expect(names("subnets")).toEqual([base]);
    expect(names("routers")).toEqual([base]);
    expect(names("security_groups")).toEqual([`k8s-cluster-${ns.name}-${SEED.cluster}-secgroup-controlplane`, `k8s-cluster-${ns.name}-${SEED.cluster}-secgroup-worker`]);
    expect(inv.counts["servers"]).toBe(0);

    // "A floating IP is created, but is not attached to any instance": allocated with the cluster, recorded in
    // status, and the endpoint (what the kubeconfig will hold) is that address.
    fip = o.status?.apiServerFloatingIP ?? { id: "", ip: "" };
    expect(fip.ip).toMatch(/^172\.24\.4\.\d+$/);
    expect(inv.resources["floatingips"]?.map((f) => f.id)).toEqual([fip.id]);
    expect(o.spec?.controlPlaneEndpoint).toEqual({ host: fip.ip, port: 6443 });
    const cl = await until("Cluster endpoint and InfrastructureReady", async () => {
      const c = await get<ClusterObject>(T.cluster, SEED.cluster);
      return c?.spec?.controlPlaneEndpoint?.host && c.status?.initialization?.infrastructureProvisioned ? c : undefined;
    });
    expect(cl.spec?.controlPlaneEndpoint).toEqual({ host: fip.ip, port: 6443 });
  });

  it("the floating IP taken back by the cloud before the control plane exists is allocated again with the same address", async () => {
    // "If you do not create the CP node quickly enough, the floating IP will be taken away."
    expect((await admin(sim, "POST", `/floatingips/${fip.id}/reclaim`)).status).toBeLessThan(300);
    const o = await until(
      "floating IP re-allocated",
      async () => {
        const x = await osc();
        const f = x?.status?.apiServerFloatingIP;
        return f && f.id !== fip.id ? x : undefined;
      },
      20_000,
    );
    expect(o.status?.apiServerFloatingIP?.ip).toBe(fip.ip);
    expect(o.spec?.controlPlaneEndpoint?.host).toBe(fip.ip);
    await manager?.events.flush();
    const events = await client.list<KubernetesObject & { reason?: string; message?: string }>(CoreTypes.event, { namespace: ns.name });
    expect(events.items.some((e) => e.reason === "FloatingIPReallocated" && e.message?.includes(fip.ip))).toBe(true);
    fip = o.status?.apiServerFloatingIP ?? fip;
    expect((await project()).resources["floatingips"]?.map((f) => f.id)).toEqual([fip.id]);
  });

  it("the KubeadmControlPlane and its machine template give a control-plane server holding the floating IP", async () => {
    await applyDocs(docsOf("OpenStackMachineTemplate").filter((d) => d.metadata?.name === KCP).concat(docsOf("KubeadmControlPlane")));
    const [cp] = await waitMachines("cp", 1);
    firstHolder = cp?.metadata?.name ?? "";
    const o = await osm(firstHolder);
    expect(o?.status?.instanceState).toBe("ACTIVE");
    expect(cp?.spec?.providerID).toBe(`openstack:///${o?.status?.instanceID}`);

    watcher = new FloatingIPWatcher(session, client, ns.name, fip.id);
    await until("floating IP on the first control-plane server", async () => (await watcher!.holder()).holder === firstHolder, 20_000);
    await until("its ExternalIP", async () => (await osm(firstHolder))?.status?.addresses?.some((a) => a.type === "ExternalIP" && a.address === fip.ip));
    watcher.phase = "1 control plane";
    watcher.start();
    await watcher.recorded("the watcher's first sample", (h) => h === firstHolder);
    const cluster = await get<ClusterObject>(T.cluster, SEED.cluster);
    expect(cluster?.status?.initialization?.controlPlaneInitialized).toBe(true);
  });

  it("capo get kubeconfig replaces `kubectl get secret ... | jq -r .data.value | base64 -d`", async () => {
    // Cluster API's kubeadm control plane writes <cluster>-kubeconfig once the control plane is initialized; the
    // stand-in runs no kubeadm, so the test writes it as that provider would (server = the floating IP endpoint).
    const kubeconfig = stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: SEED.cluster, cluster: { server: `https://${fip.ip}:6443`, "certificate-authority-data": envVars["OPENSTACK_CLOUD_CACERT_B64"] } }],
      users: [{ name: `${SEED.cluster}-admin`, user: { token: "simulated-admin-token" } }],
      contexts: [{ name: `${SEED.cluster}-admin@${SEED.cluster}`, context: { cluster: SEED.cluster, user: `${SEED.cluster}-admin` } }],
      "current-context": `${SEED.cluster}-admin@${SEED.cluster}`,
    });
    await client.create(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      type: "cluster.x-k8s.io/secret",
      metadata: { name: `${SEED.cluster}-kubeconfig`, namespace: ns.name, labels: { "cluster.x-k8s.io/cluster-name": SEED.cluster } },
      data: { value: Buffer.from(kubeconfig).toString("base64") },
    } as KubernetesObject);

    const file = join(dir, "k.config.yaml");
    const r = await capo(["get", "kubeconfig", SEED.cluster, ...withNs(), "-o", file], userEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`wrote the kubeconfig of ${SEED.cluster} to ${file}\n`);
    expect(await readFile(file, "utf8")).toBe(kubeconfig);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const printed = await capo(["get", "kubeconfig", SEED.cluster, ...withNs()], userEnv);
    expect(printed.code, printed.stderr).toBe(0);
    expect((parse(printed.stdout) as { clusters: { cluster: { server: string } }[] }).clusters[0]?.cluster.server).toBe(`https://${fip.ip}:6443`);
  });

  it("the worker (template, KubeadmConfigTemplate, MachineDeployment) comes up; the floating IP stays where it is", async () => {
    await applyDocs(docsOf("OpenStackMachineTemplate").filter((d) => d.metadata?.name === MD).concat(docsOf("KubeadmConfigTemplate", "MachineDeployment")));
    const [w] = await waitMachines("worker", 1);
    const o = await osm(w?.metadata?.name ?? "");
    expect(o?.status?.addresses?.some((a) => a.type === "ExternalIP")).toBe(false);
    expect(o?.status?.addresses?.find((a) => a.type === "InternalIP")?.address).toMatch(/^10\.6\.0\./);
    expect(w?.spec?.failureDomain).toBe("nova");
    expect((await watcher!.holder()).holder).toBe(firstHolder);
  });

  it("capo describe cluster shows the whole tree with the OpenStack resources behind it", async () => {
    const r = await capo(["describe", "cluster", SEED.cluster, ...withNs()], userEnv);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const o = await osc();
    const base = `k8s-clusterapi-cluster-${ns.name}-${SEED.cluster}`;
    expect(lines[0]).toBe(`Cluster ${SEED.cluster}  [Provisioned]`);
    expect(lines).toContain(`│  endpoint  ${fip.ip}:6443`);
    expect(lines).toContain(`├─ OpenStackCluster ${SEED.cluster}`);
    expect(lines).toContain(`│     external network                ${SEED.externalNetwork} (${externalNetworkID})`);
    expect(lines).toContain(`│     network                         ${base} (${o?.status?.network?.id})`);
    expect(lines.some((l) => l.startsWith(`│     security group (control plane)  k8s-cluster-${ns.name}-${SEED.cluster}-secgroup-controlplane (`))).toBe(true);
    expect(lines).toContain(`│     API floating IP                 ${fip.ip} (${fip.id})`);
    // Infrastructure, control plane, then the MachineDeployment, each with its machines under it.
    const top = lines.filter((l) => /^[├└]─ /.test(l));
    expect(top).toEqual([
      `├─ OpenStackCluster ${SEED.cluster}`,
      expect.stringMatching(new RegExp(`^├─ KubeadmControlPlane ${KCP}`)),
      expect.stringMatching(new RegExp(`^└─ MachineDeployment ${MD}`)),
    ]);
    const [worker] = await machines("worker");
    expect(lines).toContain(`│  └─ Machine ${firstHolder}  [Provisioned]`);
    expect(lines).toContain(`│     └─ OpenStackMachine ${firstHolder}  [ACTIVE]`);
    expect(lines).toContain(`   └─ Machine ${worker?.metadata?.name}  [Provisioned]`);
    const cpServer = (await osm(firstHolder))?.status?.instanceID ?? "";
    expect(lines.some((l) => /\bserver\s+/.test(l) && l.endsWith(`${cpServer} ACTIVE`)), r.stdout).toBe(true);
    expect(lines.some((l) => /\baddresses\s+/.test(l) && l.includes(`ExternalIP ${fip.ip}`)), r.stdout).toBe(true);
  });

  it("KCP 1 -> 3 -> 1 -> 3 never hangs, and the floating IP moves only when its holder is deleted", async () => {
    const w = watcher!;
    w.phase = "scale 1 -> 3";
    await patchReplicas("kcp", 3);
    await waitMachines("cp", 3);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await w.holder()).holder).toBe(firstHolder);

    // Scale-down removes the oldest machines first (as KubeadmControlPlane does), the holder among them.
    w.phase = "scale 3 -> 1";
    await patchReplicas("kcp", 1);
    const [survivor] = await waitMachines("cp", 1);
    const survivorName = survivor?.metadata?.name ?? "";
    await w.recorded("floating IP on the surviving control plane", (h) => h === survivorName);

    // The seed's hang: 1 -> 3 after a scale-down stopped at 2.
    w.phase = "scale 1 -> 3 again";
    await patchReplicas("kcp", 3);
    const cps = await waitMachines("cp", 3);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await w.holder()).holder).toBe(survivorName);
    const cluster = await until("Cluster reports 3 control-plane replicas", async () => {
      const c = await get<ClusterObject>(T.cluster, SEED.cluster);
      return c?.status?.controlPlane?.replicas === 3 && c.status.controlPlane.readyReplicas === 3 ? c : undefined;
    });
    expect(cluster.status?.controlPlane?.desiredReplicas).toBe(3);
    expect(cps.map((m) => m.metadata?.name)).toContain(survivorName);

    // Never travelling: each move left a machine that was being deleted; never to a machine created by a scale-up
    // while the holder lived; and the address itself never changed.
    expect(w.changes[0]).toMatchObject({ holder: firstHolder, phase: "1 control plane" });
    expect(w.changes.filter((c) => !c.previousReleased)).toEqual([]);
    expect(w.changes.filter((c) => c.phase.startsWith("scale 1 -> 3"))).toEqual([]);
    const moves = w.changes.slice(1);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((c) => c.phase === "scale 3 -> 1")).toBe(true);
    expect(moves.at(-1)?.holder).toBe(survivorName);
    expect((await osc())?.status?.apiServerFloatingIP).toEqual(fip);
    expect((await project()).resources["floatingips"]?.map((f) => f.id)).toEqual([fip.id]);
  });

  it("a control-plane VM deleted behind our back: Ready=False InstanceDeleted, mirrored for the MachineHealthCheck; remediation replaces it", async () => {
    const w = watcher!;
    w.phase = "out-of-band delete";
    const victim = (await w.holder()).holder ?? "";
    const serverID = (await osm(victim))?.status?.instanceID ?? "";
    expect((await admin(sim, "DELETE", `/resources/servers/${serverID}`)).status).toBe(204);

    const o = await until(`${victim} Ready=False InstanceDeleted`, async () => {
      const x = await osm(victim);
      return readyOf(x)?.reason === "InstanceDeleted" ? x : undefined;
    }, 20_000);
    expect(readyOf(o)?.status).toBe("False");
    expect(readyOf(o)?.message).toContain(serverID);
    // Core mirrors it to the Machine's InfrastructureReady=False: exactly what the generated control-plane
    // MachineHealthCheck selects (labels) and matches (unhealthyMachineConditions).
    const m = await until(`Machine ${victim} InfrastructureReady=False`, async () => {
      const x = await get<MachineObject>(T.machine, victim);
      return x?.status?.conditions?.find((c) => c.type === "InfrastructureReady")?.status === "False" ? x : undefined;
    }, 10_000);
    const mhc = healthChecks.find((h) => h.metadata?.name === `${SEED.cluster}-control-plane-unhealthy`)!;
    const selector = (mhc.spec?.["selector"] as { matchLabels: Record<string, string> }).matchLabels;
    expect(Object.entries(selector).every(([k, v]) => m.metadata?.labels?.[k] === v)).toBe(true);
    const unhealthy = (mhc.spec?.["checks"] as { unhealthyMachineConditions: { type: string; status: string }[] }).unhealthyMachineConditions;
    expect(unhealthy.some((u) => m.status?.conditions?.some((c) => c.type === u.type && c.status === u.status))).toBe(true);
    // The endpoint goes to a live control-plane machine; the server is never recreated inside the same machine.
    await w.recorded("floating IP on a live control plane", (h) => !!h && h !== victim);
    expect(((await project()).resources["servers"] ?? []).filter((s) => s.name === victim)).toEqual([]);

    // The MachineHealthCheck's remediation (Cluster API's; the stand-in has none): delete the Machine. The
    // KubeadmControlPlane then creates a replacement, and deleting works although the server is gone.
    w.phase = "remediation";
    await client.delete(T.machine, ns.name, victim);
    const cps = await waitMachines("cp", 3);
    expect(cps.map((x) => x.metadata?.name)).not.toContain(victim);
    expect(w.changes.filter((c) => !c.previousReleased && !(c.phase === "out-of-band delete" && c.from === victim))).toEqual([]);
    expect((await osc())?.status?.apiServerFloatingIP).toEqual(fip);
  });

  it("deleting the Cluster removes every OpenStack resource capo created", async () => {
    await watcher?.stop();
    await client.delete(T.cluster, ns.name, SEED.cluster);
    await until("Cluster gone", async () => (await get(T.cluster, SEED.cluster)) === undefined, 120_000);
    expect(await osc()).toBeUndefined();
    expect((await client.list(T.openStackMachine, { namespace: ns.name })).items).toEqual([]);
    // Only the user's own key pair is left; it goes the way it came.
    const { counts } = await project();
    expect(Object.entries(counts).filter(([, n]) => n > 0)).toEqual([["keypairs", 1]]);
    const del = await openstack(["keypair", "delete", SEED.sshKey], osEnv);
    expect(del.code, del.stderr).toBe(0);
    const after = await project();
    expect(Object.values(after.counts).every((n) => n === 0), JSON.stringify(after.counts)).toBe(true);
    // The identity Secret is the user's, not the Cluster's.
    expect(await get(T.secret, `${SEED.cluster}-cloud-config`)).toBeDefined();
    // No credential in anything the controllers logged.
    expect(controllerLog.filter((l) => l.includes(SEED.password))).toEqual([]);
  });
});
