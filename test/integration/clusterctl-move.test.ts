import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { KubernetesObjectApi } from "@kubernetes/client-node";
import type { KubeConfig, V1CustomResourceDefinition } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import { simClusterOptions } from "../../src/demo/cluster-options.js";
import { generateCluster } from "../../src/manifests/generate/index.js";
import { stringifyDocuments } from "../../src/manifests/yaml.js";
import { createLogger, Manager, Metrics } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { asClientModel, ensureTestBins, installCrds, startControlPlane } from "../../src/testenv/index.js";
import type { ControlPlane } from "../../src/testenv/index.js";
import { T, conditionOf, eventually, getOrUndefined, inventory, listIn, liveCounts, problemLines, type Obj } from "../e2e/capi-objects.js";
import {
  clusterctlBins,
  clusterctlEnv,
  clusterctlInit,
  kubeConfigFrom,
  listAll,
  runClusterctl,
  writeCapoRepository,
  writeClusterctlConfig,
} from "../helpers/clusterctl.js";
import type { ClusterctlBins } from "../helpers/clusterctl.js";
import { applyManifests } from "../helpers/k8s.js";
import { startTestSimulator, admin, type RunningSimulator } from "../helpers/sim.js";
import { mutating, requestCounts } from "./controller-cluster-fixtures.js";

// `clusterctl move` of a cluster our controllers provisioned on the simulator, from one management cluster (its own
// kube-apiserver + etcd, set up with `clusterctl init` from the local repositories) to a second one, with our
// controllers running on both sides all along. CAPI core's part is played by the stand-in (src/demo), as in
// `capo demo`: the real managers would need a workload cluster reachable from two management clusters.

const NAME = "moved";

/** One management cluster: its apiserver, our controllers watching the test namespace, and the CAPI stand-in. */
interface ManagementCluster {
  name: string;
  cp: ControlPlane;
  kc: KubeConfig;
  client: KubeClient;
  ours: Manager;
  standIn: CapiCoreStandIn;
  log: string[];
}

let bins: ClusterctlBins;
let dir: string;
let ns: string;
let sim: RunningSimulator;
let source: ManagementCluster;
let target: ManagementCluster;

const diagnostics = (): string =>
  [source, target].map((m) => (m ? `--- ${m.name}: capo and stand-in ---\n${problemLines(m.log.join("\n"), 40)}` : "")).join("\n");
const wait = <R>(what: string, check: () => Promise<R | undefined | false>, ms = 120_000) => eventually(what, check, diagnostics, ms);

/**
 * CAPI's webhooks are served by its managers, which do not run here: their configurations (failurePolicy Fail)
 * would refuse every Cluster and Machine. Ours ships none (validation is CEL; conversion is the CRDs' own stanza).
 */
async function removeCapiWebhookConfigurations(kc: KubeConfig): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const removed: string[] = [];
  for (const kind of ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]) {
    for (const w of await listAll(kc, "admissionregistration.k8s.io/v1", kind)) {
      expect(w.metadata?.labels?.["cluster.x-k8s.io/provider"]).not.toBe("infrastructure-openstack");
      await api.delete(asClientModel({ apiVersion: "admissionregistration.k8s.io/v1", kind, metadata: { name: w.metadata!.name! } }));
      removed.push(w.metadata!.name!);
    }
  }
  return removed;
}

async function startManagementCluster(name: string, configPath: string): Promise<ManagementCluster> {
  const cp = await startControlPlane();
  await installCrds(cp.kubeconfigPath, [bins.certManager.crdDir]);
  await clusterctlInit(bins, configPath, cp.kubeconfigPath, clusterctlEnv(join(dir, name)));
  const kc = kubeConfigFrom(cp.kubeconfigPath);
  expect(await removeCapiWebhookConfigurations(kc)).not.toHaveLength(0);
  const log: string[] = [];
  const logger = createLogger({
    level: "info",
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        log.push(...chunk.toString().split("\n").filter(Boolean));
        cb();
      },
    }),
  });
  const ours = new Manager({ kubeConfig: kc, log: logger, namespace: ns, metrics: new Metrics(), syncPeriodMs: 60_000, shutdownTimeoutMs: 10_000 });
  ours.add(openStackClusterController({ machinesGoneRequeueMs: 500, backoffBaseMs: 100, backoffMaxMs: 2_000 }));
  ours.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 1_000 }));
  await ours.start();
  const standIn = new CapiCoreStandIn({ kubeConfig: kc, namespace: ns, intervalMs: 200, log: (l) => log.push(l) });
  return { name, cp, kc, client: new KubeClient(kc), ours, standIn, log };
}

async function stopManagementCluster(m: ManagementCluster | undefined): Promise<void> {
  if (!m) return;
  await m.standIn.stop();
  await m.ours.stop();
  m.client.close();
  await m.cp.stop();
}

interface DescribedCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/**
 * `clusterctl describe cluster --show-conditions all` output as "Kind/name" -> its condition rows (type, status,
 * reason, first line of the message), in the order printed.
 */
function describeTree(out: string): Map<string, DescribedCondition[]> {
  const tree = new Map<string, DescribedCondition[]>();
  let current: DescribedCondition[] | undefined;
  for (const line of out.split("\n")) {
    const cond = /─([A-Z][A-Za-z]+)\s+(True|False|Unknown)\s+(\S+)\s+\d+[smhd]\s*(.*?)\s*$/.exec(line);
    if (cond) {
      current?.push({ type: cond[1]!, status: cond[2]!, reason: cond[3]!, message: cond[4]! });
      continue;
    }
    const obj = /(?:^|─)([A-Z][A-Za-z]+) [a-z0-9-]+\/([a-z0-9.-]+)/.exec(line);
    if (obj) tree.set(`${obj[1]}/${obj[2]}`, (current = []));
  }
  return tree;
}

/**
 * Polls the OpenStackCluster's Paused condition on both management clusters (every 100 ms) until stopped; returns
 * what it saw ("source Paused=True", ...). Our controllers write the condition when they see the Cluster paused.
 */
function watchPaused(): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const m of [source, target]) {
        const osc = await getOrUndefined(m.client, T.openStackCluster, ns, NAME).catch(() => undefined);
        const paused = conditionOf(osc, "Paused");
        if (paused) seen.add(`${m.name} Paused=${paused.status}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen].sort();
    },
  };
}

/** What the clouds hold for the cluster: every live resource's kind and id. */
async function cloudResources(): Promise<string[]> {
  const inv = await inventory(sim);
  return Object.entries(inv)
    .flatMap(([kind, items]) => items.filter((i) => i.status !== "DELETED").map((i) => `${kind}/${i.id}`))
    .sort();
}

beforeAll(async () => {
  bins = clusterctlBins(await ensureTestBins());
  dir = mkdtempSync(join(tmpdir(), "capo-clusterctl-move-"));
  ns = `move-${randomBytes(4).toString("hex")}`;
  const config = writeClusterctlConfig(dir, bins, writeCapoRepository(join(dir, "repository")));
  sim = await startTestSimulator();
  source = await startManagementCluster("source", config);
  target = await startManagementCluster("target", config);
}, 600_000);

afterAll(async () => {
  await stopManagementCluster(source);
  await stopManagementCluster(target);
  await closeCachedSessions();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("clusterctl move of a cluster provisioned on the simulator", () => {
  let before: string[];
  let machinesBefore: Obj[];

  it("provisions the cluster on the source management cluster", async () => {
    await source.client.create(T.namespace, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const cloudsFile = join(dir, "clouds.yaml");
    writeFileSync(cloudsFile, sim.cloudsYaml("capo-sim"), { mode: 0o600 });
    const generated = await generateCluster({
      ...simClusterOptions({ clusterName: NAME, namespace: ns, flavor: "default", controlPlanes: 1, workers: 1, cloudsFile }),
      kubernetesVersion: "v1.34.1",
      dnsServers: ["8.8.8.8"],
    });
    await applyManifests(source.kc, stringifyDocuments(generated.objects), { namespace: ns });
    source.standIn.start();
    machinesBefore = await wait("two provisioned OpenStackMachines on the source", async () => {
      const osms = await listIn(source.client, T.openStackMachine, ns);
      return osms.length === 2 && osms.every((m) => conditionOf(m, "Ready")?.status === "True") ? osms : undefined;
    });
    await wait("the Cluster's infrastructure provisioned", async () => {
      const c = await getOrUndefined(source.client, T.cluster, ns, NAME);
      return c?.status?.initialization?.["infrastructureProvisioned"] === true;
    });
    // The part no stand-in can play: kubelets registering Nodes and kubeadm init finishing. clusterctl move refuses a
    // cluster before that (Machines without nodeRef, control plane not initialized), so write what CAPI would.
    await source.standIn.stop();
    for (const m of await listIn(source.client, T.machine, ns)) {
      await source.client.patch(T.machine, m.metadata!.name!, { status: { nodeRef: { name: m.metadata!.name! } } }, "merge", { namespace: ns, subresource: "status" });
    }
    const cluster = (await getOrUndefined(source.client, T.cluster, ns, NAME))!;
    const conditions = [...(cluster.status?.conditions ?? []), { type: "ControlPlaneInitialized", status: "True", reason: "Initialized", message: "", lastTransitionTime: new Date().toISOString() }];
    await source.client.patch(T.cluster, NAME, { status: { conditions, initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true } } }, "merge", { namespace: ns, subresource: "status" });

    // A Secret the cluster does not own and that is not labelled for move: clusterctl must leave it behind.
    await source.client.create(T.secret, { apiVersion: "v1", kind: "Secret", metadata: { name: `${NAME}-unrelated`, namespace: ns }, stringData: { x: "y" } });

    before = await cloudResources();
    expect(liveCounts(await inventory(sim))).toMatchObject({ servers: 2, loadbalancers: 1, networks: 1, routers: 1 });
    expect((await admin(sim, "DELETE", "/requests")).status).toBe(204);
  }, 300_000);

  it("moves every object, our kinds found through the owner chain and the labelled identity Secret", async () => {
    const watching = watchPaused();
    const out = await runClusterctl(
      bins,
      ["move", "--kubeconfig", source.cp.kubeconfigPath, "--to-kubeconfig", target.cp.kubeconfigPath, "--namespace", ns],
      clusterctlEnv(join(dir, "move")),
    );
    const seen = await watching.stop();
    expect(out).toContain("Moving Cluster API objects");
    // clusterctl paused the Cluster on both sides while it worked, and our controllers on both said so.
    expect(seen).toEqual(expect.arrayContaining(["source Paused=True", "target Paused=True"]));
    for (const type of [T.cluster, T.openStackCluster, T.openStackMachine, T.machine, T.openStackMachineTemplate]) {
      expect(await listIn(source.client, type, ns), `${type.kind} left on the source`).toEqual([]);
    }
    expect((await listIn(target.client, T.openStackMachine, ns)).map((m) => m.metadata?.name).sort()).toEqual(
      machinesBefore.map((m) => m.metadata?.name).sort(),
    );
    expect(await getOrUndefined(target.client, T.secret, ns, `${NAME}-cloud-config`)).toBeDefined();
    expect(await getOrUndefined(target.client, T.secret, ns, `${NAME}-unrelated`)).toBeUndefined();
    expect(await getOrUndefined(source.client, T.secret, ns, `${NAME}-unrelated`)).toBeDefined();
    expect(await getOrUndefined(target.client, T.openStackCluster, ns, NAME)).toBeDefined();
  }, 300_000);

  it("the target's controllers adopt everything without creating or deleting an OpenStack resource", async () => {
    target.standIn.start();
    const osc = await wait("the OpenStackCluster Ready on the target", async () => {
      const o = await getOrUndefined(target.client, T.openStackCluster, ns, NAME);
      return conditionOf(o, "Ready")?.status === "True" && o?.status?.initialization?.["provisioned"] === true ? o : undefined;
    });
    const osms = await wait("both OpenStackMachines Ready on the target", async () => {
      const list = await listIn(target.client, T.openStackMachine, ns);
      return list.length === 2 && list.every((m) => conditionOf(m, "Ready")?.status === "True" && m.status?.instanceID) ? list : undefined;
    });
    // Let a few more reconciles pass: a late duplicate would show up here.
    await new Promise((r) => setTimeout(r, 3_000));
    const calls = await requestCounts(sim);
    expect(mutating(calls.counts), "OpenStack calls that change something").toEqual([]);
    expect(calls.total).toBeGreaterThan(0); // the target's controllers did look
    expect(await cloudResources()).toEqual(before);
    const byName = (list: Obj[]) => Object.fromEntries(list.map((m) => [m.metadata?.name, [m.spec?.providerID, m.status?.instanceID]]));
    expect(byName(osms)).toEqual(byName(machinesBefore));
    expect(osc.status?.apiServerManagedLoadBalancer?.ip).toBeTruthy();
    const cluster = await getOrUndefined(target.client, T.cluster, ns, NAME);
    expect(cluster?.spec?.["paused"]).not.toBe(true);
  }, 300_000);

  it("clusterctl describe cluster shows our objects and their conditions", async () => {
    const out = await runClusterctl(
      bins,
      ["describe", "cluster", NAME, "--namespace", ns, "--kubeconfig", target.cp.kubeconfigPath, "--show-conditions", "all", "--grouping=false", "--echo"],
      clusterctlEnv(join(dir, "describe")),
    );
    // (clusterctl wraps long messages onto further lines; the first line is enough to recognise ours.)
    const tree = describeTree(out);
    const osms = (await listIn(target.client, T.openStackMachine, ns)).map((m) => m.metadata!.name!);
    expect([...tree.keys()], out).toEqual(expect.arrayContaining([`Cluster/${NAME}`, `OpenStackCluster/${NAME}`, ...osms.map((m) => `OpenStackMachine/${m}`)]));
    const osc = (await getOrUndefined(target.client, T.openStackCluster, ns, NAME))!;
    expect(tree.get(`OpenStackCluster/${NAME}`), out).toEqual([
      { type: "Paused", status: "False", reason: "NotPaused", message: "" },
      { type: "ExternalNetworkReady", status: "True", reason: "Resolved", message: expect.stringMatching(/^external network public \([0-9a-f-]{36}\)$/) },
      { type: "NetworkReady", status: "True", reason: "Provisioned", message: expect.stringContaining(`network k8s-clusterapi-cluster-${ns}-${NAME}, subnet 10.6.0.0/24`) },
      { type: "SecurityGroupsReady", status: "True", reason: "Provisioned", message: expect.stringContaining(`k8s-cluster-${ns}-${NAME}-secgroup-controlplane`) },
      { type: "APIEndpointReady", status: "True", reason: "LoadBalancer", message: `${osc.status?.apiServerManagedLoadBalancer?.ip}:6443` },
      { type: "FailureDomainsReady", status: "True", reason: "Resolved", message: expect.stringContaining("nova") },
      { type: "Ready", status: "True", reason: "Provisioned", message: "" },
    ]);
    for (const m of osms) {
      const conditions = tree.get(`OpenStackMachine/${m}`) ?? [];
      expect(conditions.filter((c) => c.type !== "Paused").every((c) => c.status === "True"), out).toBe(true);
      expect(conditions.map((c) => c.type), out).toEqual(expect.arrayContaining(["Paused", "InstanceReady", "Ready"]));
    }
    // CAPI's view of our Ready, through the Cluster's InfrastructureReady.
    expect(tree.get(`Cluster/${NAME}`)).toContainEqual({ type: "InfrastructureReady", status: "True", reason: "Provisioned", message: "" });
  });

  it("our CRDs need no move labels: clusterctl finds our kinds through owner references", async () => {
    const crds = (await listAll<V1CustomResourceDefinition>(target.kc, "apiextensions.k8s.io/v1", "CustomResourceDefinition")).filter(
      (c) => c.spec.group === "infrastructure.cluster.x-k8s.io",
    );
    expect(crds).toHaveLength(4);
    for (const c of crds) {
      // Like upstream CAPO's: only the clusterctl label clusterctl init adds (what move's discovery lists).
      expect(Object.keys(c.metadata?.labels ?? {}).filter((l) => l.startsWith("clusterctl.cluster.x-k8s.io"))).toEqual(["clusterctl.cluster.x-k8s.io"]);
    }
  });

  it("deleting the cluster on the target cleans up the cloud fully", async () => {
    await target.client.delete(T.cluster, ns, NAME);
    await wait(
      "the Cluster and all its objects gone from the target",
      async () => {
        for (const type of [T.cluster, T.openStackCluster, T.openStackMachine, T.machine]) {
          if ((await listIn(target.client, type, ns)).length > 0) return false;
        }
        return true;
      },
      240_000,
    );
    const left = liveCounts(await inventory(sim));
    expect(Object.entries(left).filter(([, n]) => n > 0)).toEqual([]);
  }, 300_000);
});

// Keeps a failed run's logs when asked (CAPO_E2E_LOG_DIR), like the e2e tests.
afterAll(() => {
  const logDir = process.env["CAPO_E2E_LOG_DIR"];
  if (!logDir) return;
  mkdirSync(logDir, { recursive: true });
  for (const m of [source, target]) if (m) writeFileSync(join(logDir, `clusterctl-move-${m.name}.log`), m.log.join("\n"));
});
