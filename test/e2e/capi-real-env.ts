// The set-up every real-CAPI end-to-end test shares: a kube-apiserver of its own with our CRDs and Cluster API's,
// our controllers confined to one namespace, the real Cluster API managers, and (for tests that need Nodes) the
// workload-cluster emulator in the managers' network namespace. Not a test itself.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createCredentialsFinalizerController } from "../../src/controllers/credentials-finalizer.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { startWorkloadClusterEmulator, type WorkloadClusterEmulator } from "../../src/emulator/index.js";
import { generateCluster, type TemplateFlavor } from "../../src/manifests/generate/index.js";
import { stringifyDocuments, type KubeObject } from "../../src/manifests/yaml.js";
import { createLogger, Manager, Metrics } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { ensureTestBins, installCrds, repoRoot, startCapiManagers, startControlPlane, type CapiManagers, type TestBins } from "../../src/testenv/index.js";
import { applyManifests } from "../helpers/k8s.js";
import { startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { T, problemLines } from "./capi-objects.js";

export const KUBERNETES_VERSION = "v1.34.1";
/** The simulator's default floating-IP range: local inside the managers' namespace, where the emulator listens. */
const FLOATING_IP_RANGE = "172.24.4.0/24";

export interface RealCapiEnv {
  client: KubeClient;
  kubeConfig: KubeConfig;
  /** The one namespace our controllers watch and every test object lives in. */
  ns: string;
  managers: CapiManagers;
  /** A simulator for one cluster (stopped by `stop`). */
  startSimulator(): Promise<RunningSimulator>;
  /** The workload-cluster emulator over `sim`'s data plane, in the managers' namespace (only with `emulated`). */
  startEmulator(sim: RunningSimulator): Promise<WorkloadClusterEmulator>;
  /** `capo generate cluster` against `sim`, applied as a user would. */
  generateAndApply(opts: { name: string; flavor: TemplateFlavor; sim: RunningSimulator; controlPlaneCount?: number; workerCount?: number }): Promise<KubeObject[]>;
  /** The managers' and our controllers' recent warnings and errors, and the emulator's log tail. */
  diagnostics(): string;
  stop(): Promise<void>;
}

/**
 * Why a kube-apiserver of its own, with the managers watching all of it? With --namespace, controller-runtime's
 * cache is a multi-namespace cache whose informers are not SharedIndexInformers, and CAPI v1.14.2's consistency
 * check (util/controller/consistency.go) then fails every later reconcile of KubeadmControlPlane ("failed to cast
 * Machine informer to SharedIndexInformer"). And all-namespace managers on the run's shared apiserver would take
 * over other tests' hand-made Clusters and Machines.
 *
 * `emulated`: the managers' namespace gets the floating-IP range as local addresses, so that the emulator's
 * endpoints are reachable there (and nowhere else).
 */
export async function startRealCapiEnv(opts: { nsPrefix: string; emulated?: boolean }): Promise<RealCapiEnv> {
  const bins = await ensureTestBins();
  const controlPlane = await startControlPlane();
  const cleanups: (() => Promise<void> | void)[] = [() => controlPlane.stop()];
  const ourLog: string[] = [];
  const emulators: WorkloadClusterEmulator[] = [];
  const sims: RunningSimulator[] = [];
  const workDir = mkdtempSync(join(tmpdir(), `capo-${opts.nsPrefix}-`));
  cleanups.unshift(() => rmSync(workDir, { recursive: true, force: true }));
  let managers: CapiManagers | undefined;
  const diagnostics = (): string =>
    `--- Cluster API managers (warnings and errors) ---\n${problemLines(managers?.logs() ?? "", 80)}\n` +
    `--- capo controllers (warnings and errors) ---\n${problemLines(ourLog.join("\n"), 40)}` +
    emulators.map((e) => `\n--- workload-cluster emulator ---\n${e.logs().slice(-2000)}`).join("");
  try {
    await installCrds(controlPlane.kubeconfigPath, [join(repoRoot(), "config", "crd"), bins.capiCrdDir]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
    const client = new KubeClient(kubeConfig);
    cleanups.unshift(() => client.close());
    const ns = `${opts.nsPrefix}-${randomBytes(4).toString("hex")}`;
    await client.create(T.namespace, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const ours = await startOurControllers(kubeConfig, ns, ourLog);
    cleanups.unshift(async () => {
      await ours.stop();
      await closeCachedSessions();
      for (const sim of sims.splice(0)) await sim.close(); // after our controllers, which talk to them
    });
    managers = await startCapiManagers({ kubeconfigPath: controlPlane.kubeconfigPath, ...(opts.emulated ? { localRoutes: [FLOATING_IP_RANGE] } : {}) });
    const started = managers;
    cleanups.unshift(() => started.stop());
    cleanups.unshift(() => keepLogs(started, ourLog, emulators));
    return {
      client,
      kubeConfig,
      ns,
      managers,
      diagnostics,
      startSimulator: async () => {
        const sim = await startTestSimulator();
        sims.push(sim);
        return sim;
      },
      startEmulator: async (sim) => {
        if (!opts.emulated) throw new Error("startEmulator: start the environment with `emulated: true`");
        const emulator = await startWorkloadClusterEmulator({ binary: emulatorBinary(bins), simAdminUrl: sim.adminUrl, netnsPath: `/proc/${started.forwarderPid}/ns/net`, workDir });
        emulators.push(emulator);
        cleanups.unshift(() => emulator.stop());
        return emulator;
      },
      generateAndApply: (g) => generateAndApply(kubeConfig, ns, workDir, g),
      stop: () => runAll(cleanups),
    };
  } catch (e) {
    await runAll(cleanups);
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${diagnostics()}`, { cause: e });
  }
}

/** Our controllers as `capo controller --namespace` runs them, with shorter waits between polls. */
async function startOurControllers(kubeConfig: KubeConfig, ns: string, sink: string[]): Promise<Manager> {
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      sink.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ level: "info", destination });
  const ours = new Manager({ kubeConfig, log, namespace: ns, metrics: new Metrics(), syncPeriodMs: 60_000, shutdownTimeoutMs: 10_000 });
  ours.add(openStackClusterController({ machinesGoneRequeueMs: 500, backoffBaseMs: 100, backoffMaxMs: 2_000 }));
  ours.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 1_000 }));
  // Releases the identity Secret's finalizer once no cluster or machine uses it, as `capo controller` does.
  ours.add(createCredentialsFinalizerController());
  await ours.start();
  return ours;
}

function emulatorBinary(bins: TestBins): string {
  const binary = bins.capiManagers?.workloadClusterEmulator;
  if (!binary) throw new Error("hack/testbins.sh recorded no workload-cluster emulator (run hack/testbins.sh and read its errors)");
  return binary;
}

/** Runs every clean-up, newest first, even when one fails; the first failure is rethrown. */
async function runAll(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  let first: unknown;
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/** For a look at a failed run: CAPO_E2E_LOG_DIR=/some/dir keeps every manager's, controller's and emulator's log. */
function keepLogs(managers: CapiManagers, ourLog: string[], emulators: WorkloadClusterEmulator[]): void {
  const logDir = process.env["CAPO_E2E_LOG_DIR"];
  if (!logDir) return;
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, "capi-managers.log"), managers.logs());
  writeFileSync(join(logDir, "capo-controllers.log"), ourLog.join("\n"));
  writeFileSync(join(logDir, "workload-cluster-emulator.log"), emulators.map((e) => e.logs()).join("\n"));
}

async function generateAndApply(
  kubeConfig: KubeConfig,
  ns: string,
  workDir: string,
  g: { name: string; flavor: TemplateFlavor; sim: RunningSimulator; controlPlaneCount?: number; workerCount?: number },
): Promise<KubeObject[]> {
  const cloudsFile = join(workDir, `${g.name}-clouds.yaml`);
  writeFileSync(cloudsFile, g.sim.cloudsYaml("capo-sim"), { mode: 0o600 });
  const generated = await generateCluster({
    clusterName: g.name,
    namespace: ns,
    flavor: g.flavor,
    kubernetesVersion: KUBERNETES_VERSION,
    controlPlaneCount: g.controlPlaneCount ?? 1,
    workerCount: g.workerCount ?? 1,
    cloud: "capo-sim",
    cloudsFile,
    externalNetwork: "public",
    image: "ubuntu-24.04",
    controlPlaneFlavor: "m1.medium",
    workerFlavor: "m1.small",
    dnsServers: ["8.8.8.8"],
    failureDomain: "nova",
    env: {},
  });
  const objects = generated.objects.map(defaultAsCapiWebhooksWould);
  await applyManifests(kubeConfig, stringifyDocuments(objects), { namespace: ns });
  return objects;
}

/**
 * CAPI's mutating webhooks are not installed here (the apiserver cannot reach the managers' webhook servers in
 * their private network namespace), so the test applies what they would store for the one object whose controller
 * needs it: the MachineDeployment webhook (core/webhooks/admission/machinedeployment.go) defaults the rollout
 * strategy to RollingUpdate with maxSurge 1, maxUnavailable 0 and labels the object with its cluster. Without that,
 * the MachineDeployment controller fails every pass with "unexpected deployment strategy type: ".
 */
export function defaultAsCapiWebhooksWould(o: KubeObject): KubeObject {
  if (o.kind !== "MachineDeployment") return o;
  const spec = o["spec"] as { clusterName: string; rollout?: unknown };
  return {
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata?.labels, "cluster.x-k8s.io/cluster-name": spec.clusterName } },
    spec: { ...spec, rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } },
  };
}
