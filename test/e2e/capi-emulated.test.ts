import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { startWorkloadClusterEmulator, type WorkloadClusterEmulator } from "../../src/emulator/index.js";
import { generateCluster } from "../../src/manifests/generate/index.js";
import { stringifyDocuments, type KubeObject } from "../../src/manifests/yaml.js";
import { createLogger, Manager, Metrics } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { ensureTestBins, installCrds, repoRoot, startCapiManagers, startControlPlane, type CapiManagers, type ControlPlane } from "../../src/testenv/index.js";
import { applyManifests } from "../helpers/k8s.js";
import { startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { T, eventually, getOrUndefined, listIn, problemLines } from "./capi-real-env.js";

// The seed's story on the REAL Cluster API (core, kubeadm bootstrap, KubeadmControlPlane managers) with our
// controllers, the simulator and the workload-cluster emulator (src/emulator): servers boot their kubeadm user data,
// register Nodes in a cluster served at the API floating IP inside the managers' network namespace, and KCP scales
// 1 -> 3 -> 1 -> 3 against it, with etcd members equal to machines and the floating IP staying put.

let controlPlane: ControlPlane | undefined;
let kubeConfig: KubeConfig;
let client: KubeClient;
let managers: CapiManagers | undefined;
let emulator: WorkloadClusterEmulator | undefined;
let ours: Manager | undefined;
let sim: RunningSimulator | undefined;
let workDir: string;
let ns: string;
const ourLog: string[] = [];

const diagnostics = (): string =>
  `--- CAPI managers ---\n${problemLines(managers?.logs() ?? "", 60)}\n--- capo ---\n${problemLines(ourLog.join("\n"), 30)}\n` +
  `--- emulator ---\n${emulator?.logs().slice(-2000) ?? ""}`;

beforeAll(async () => {
  const bins = await ensureTestBins();
  controlPlane = await startControlPlane();
  await installCrds(controlPlane.kubeconfigPath, [join(repoRoot(), "config", "crd"), bins.capiCrdDir]);
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
  client = new KubeClient(kubeConfig);
  ns = `capi-emu-${randomBytes(4).toString("hex")}`;
  await client.create(T.namespace, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  workDir = mkdtempSync(join(tmpdir(), "capo-capi-emu-"));
  const log = createLogger({ level: "info", destination: new Writable({ write(c: Buffer, _e, cb) { ourLog.push(...c.toString().split("\n").filter(Boolean)); cb(); } }) });
  ours = new Manager({ kubeConfig, log, namespace: ns, metrics: new Metrics(), syncPeriodMs: 60_000, shutdownTimeoutMs: 10_000 });
  ours.add(openStackClusterController({ machinesGoneRequeueMs: 500, backoffBaseMs: 100, backoffMaxMs: 2_000 }));
  ours.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 1_000 }));
  await ours.start();
  sim = await startTestSimulator();
  // The simulator's floating-IP range is local inside the managers' namespace: the emulator listens there.
  managers = await startCapiManagers({ kubeconfigPath: controlPlane.kubeconfigPath, localRoutes: ["172.24.4.0/24"] });
  const binary = bins.capiManagers?.workloadClusterEmulator;
  if (!binary) throw new Error("hack/testbins.sh recorded no workload-cluster emulator");
  emulator = await startWorkloadClusterEmulator({ binary, simAdminUrl: sim.adminUrl, netnsPath: `/proc/${managers.forwarderPid}/ns/net`, workDir });
}, 600_000);

afterAll(async () => {
  await emulator?.stop();
  await managers?.stop();
  await ours?.stop();
  await closeCachedSessions();
  await sim?.close();
  client?.close();
  await controlPlane?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 120_000);

/** What CAPI's MachineDeployment defaulting webhook would store (the webhooks are not reachable here). */
function defaultAsCapiWebhooksWould(o: KubeObject): KubeObject {
  if (o.kind !== "MachineDeployment") return o;
  const spec = o["spec"] as { clusterName: string };
  return {
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata?.labels, "cluster.x-k8s.io/cluster-name": spec.clusterName } },
    spec: { ...spec, rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } },
  };
}

describe("the seed's story on the real Cluster API (without-lb)", () => {
  const name = "seed";
  const wait = <R>(what: string, f: () => Promise<R | undefined | false>, ms = 240_000) => eventually(`${name}: ${what}`, f, diagnostics, ms);
  let endpoint = "";
  let fipIP = "";

  async function expectControlPlane(replicas: number): Promise<void> {
    const kcpReady = await wait(`KCP at ${replicas} replicas, all Machines Running with Nodes`, async () => {
      const machines = (await listIn(client, T.machine, ns, "cluster.x-k8s.io/control-plane")).filter((m) => !m.metadata?.deletionTimestamp);
      const all = await listIn(client, T.machine, ns, "cluster.x-k8s.io/control-plane");
      if (machines.length !== replicas || all.length !== replicas) return false;
      if (!machines.every((m) => m.status?.phase === "Running" && (m.status?.["nodeRef"] as { name?: string } | undefined)?.name)) return false;
      const st = await emulator!.status(endpoint);
      const cpNodes = st.nodes.filter((n) => n.controlPlane && n.ready).map((n) => n.name).sort();
      const names = machines.map((m) => (m.status?.["nodeRef"] as { name: string }).name).sort();
      return st.reachable && JSON.stringify(st.etcdMembers.sort()) === JSON.stringify(names) && JSON.stringify(cpNodes) === JSON.stringify(names) && st;
    });
    expect(kcpReady.reachable).toBe(true);
    const osc = await getOrUndefined(client, T.openStackCluster, ns, name);
    expect(osc?.status?.apiServerFloatingIP?.ip).toBe(fipIP);
  }

  // A merge patch, not get+replace: KCP's own manager writes the object between our read and our write.
  async function scaleKcp(replicas: number): Promise<void> {
    await client.patch(T.kubeadmControlPlane, name + "-control-plane", { spec: { replicas } }, "merge", { namespace: ns });
  }

  it("1 control plane + 1 worker become Ready Nodes through the floating IP", async () => {
    const cloudsFile = join(workDir, "clouds.yaml");
    writeFileSync(cloudsFile, sim!.cloudsYaml("capo-sim"), { mode: 0o600 });
    const generated = await generateCluster({
      clusterName: name, namespace: ns, flavor: "without-lb", kubernetesVersion: "v1.34.1", controlPlaneCount: 1, workerCount: 1,
      cloud: "capo-sim", cloudsFile, externalNetwork: "public", image: "ubuntu-24.04", controlPlaneFlavor: "m1.medium",
      workerFlavor: "m1.small", dnsServers: ["8.8.8.8"], failureDomain: "nova", env: {},
    });
    await applyManifests(kubeConfig, stringifyDocuments(generated.objects.map(defaultAsCapiWebhooksWould)), { namespace: ns });
    const osc = await wait("floating IP endpoint", async () => (await getOrUndefined(client, T.openStackCluster, ns, name))?.status?.apiServerFloatingIP?.ip);
    fipIP = osc;
    endpoint = `${fipIP}:6443`;
    await expectControlPlane(1);
    const st = await wait("worker Node Ready", async () => {
      const s = await emulator!.status(endpoint);
      return s.nodes.filter((n) => n.ready).length === 2 && s;
    });
    // Each Node carries its Machine's providerID (openstack:///<server id>), and CAPI found it (nodeRef).
    await wait("every Machine has its Node", async () => {
      const machines = await listIn(client, T.machine, ns);
      const ids = machines.map((m) => m.spec?.providerID ?? "").sort();
      return machines.every((m) => (m.status?.["nodeRef"] as { name?: string } | undefined)?.name) &&
        JSON.stringify(ids) === JSON.stringify(st.nodes.map((n) => n.providerID).sort());
    });
  }, 600_000);

  it("KCP 1 -> 3 -> 1 -> 3: every step completes, etcd members = machines, the floating IP stays", async () => {
    for (const replicas of [3, 1, 3]) {
      await scaleKcp(replicas);
      await expectControlPlane(replicas);
    }
  }, 1_800_000);
});
