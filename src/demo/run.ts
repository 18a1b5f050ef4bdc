import { copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { generateCluster, type TemplateFlavor } from "../manifests/generate/index.js";
import { KubeClient } from "../runtime/index.js";
import { errorMessage } from "../util/errors.js";
import { applyObjects } from "./apply.js";
import { defaultAsCapiWebhooksWould } from "./capi-defaults.js";
import { simClusterOptions } from "./cluster-options.js";
import { allNodesReady, describeView, readClusterView, type ClusterView } from "./cluster-view.js";
import { SIM_CLOUD_NAME, startLocalEnvironment, type LocalEnvironment } from "./environment.js";
import { Progress } from "./progress.js";
import type { RealCapi } from "./real-capi.js";
import { fetchInventory, readClusterObjects, renderInventory, renderNodes, renderObjects } from "./report.js";
import { Interrupted, ShutdownSignal } from "./signals.js";

export interface DemoOptions {
  /** Exit after showing the result instead of running until Ctrl-C. */
  exit: boolean;
  flavor: TemplateFlavor;
  controlPlanes: number;
  workers: number;
  /** How long to wait for every Node to be Ready. */
  timeoutMs: number;
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const DEMO_CLUSTER = "demo";
export const DEMO_NAMESPACE = "default";
const DEMO_PROJECT = "demo";

/** What one demo run works with. */
interface Demo {
  o: DemoOptions;
  env: LocalEnvironment;
  capi: RealCapi;
  client: KubeClient;
  progress: Progress;
  signals: ShutdownSignal;
}

/**
 * `capo demo`: the whole flow on this machine. Starts the simulator, etcd + kube-apiserver, our controllers, the real
 * Cluster API managers and the workload-cluster emulator; generates and applies a cluster, waits with progress until
 * every Machine has a Ready Node, prints the objects, the Nodes and the OpenStack resources behind them, then runs
 * until Ctrl-C (or exits with `exit`). Everything it started is stopped and removed on the way out.
 */
export async function runDemo(o: DemoOptions): Promise<void> {
  const progress = new Progress(o.out ?? process.stdout);
  const signals = new ShutdownSignal();
  let env: LocalEnvironment | undefined;
  try {
    progress.line(
      "capo demo: OpenStack simulator + local etcd/kube-apiserver + capo controllers + the real Cluster API managers " +
        "and a workload-cluster emulator, all on 127.0.0.1 or in a private network namespace",
    );
    env = await signals.race(
      startLocalEnvironment({
        // Room for --control-planes/--workers up to 20 each; the rest of the default world stays as it is.
        simConfig: { quotas: { instances: 64, cores: 256, ram: 1_048_576, port: 1000 } },
        realCapi: true,
        onStep: (m) => progress.line(`- ${m}`),
      }),
    );
    if (!env.capi) throw new Error("the local environment started without the Cluster API managers");
    printServices(env, env.capi, progress);
    const client = new KubeClient(env.kubeConfig, { userAgent: "capo-demo" });
    try {
      await showCluster({ o, env, capi: env.capi, client, progress, signals });
    } finally {
      client.close();
    }
    if (!o.exit) {
      printHowToReach(env, env.capi, progress);
      await signals.wait();
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) {
      if (env) keepControllerLog(env, progress);
      throw e;
    }
  } finally {
    await cleanUp(env, progress, signals);
  }
  const code = signals.exitCode();
  if (code !== undefined) process.exitCode = code;
}

function printServices(env: LocalEnvironment, capi: RealCapi, progress: Progress): void {
  const cp = env.controlPlane;
  progress.line(`- simulator       ${env.sim.url} (in this process)`);
  progress.line(`- etcd            http://127.0.0.1:${cp.ports.etcdClient} (pid ${cp.pids.etcd})`);
  progress.line(`- kube-apiserver  ${cp.apiServerUrl} (pid ${cp.pids.kubeApiserver})`);
  progress.line(`- controllers     ${env.controllers.join(", ") || "(none)"} (log: ${env.controllerLogPath})`);
  progress.line(
    `- Cluster API     ${env.bins.capiVersion} core, kubeadm bootstrap, kubeadm control plane (pids ${capi.managers.pids.join(", ")}) ` +
      `in network namespace ${capi.netnsPath} (pid ${capi.managers.forwarderPid})`,
  );
  progress.line("- emulator        workload clusters at their API endpoints, in the same namespace: servers boot their kubeadm user data");
  if (env.missingControllers.length > 0) {
    progress.line(`! not registered in src/controllers/index.ts: ${env.missingControllers.join(", ")} (the cluster cannot be provisioned without them)`);
  }
}

/** Generates and applies the cluster, waits until its Nodes are Ready, prints what there is. */
async function showCluster(d: Demo): Promise<void> {
  const { o, env, progress } = d;
  const generated = await generateCluster(
    simClusterOptions({
      clusterName: DEMO_CLUSTER,
      namespace: DEMO_NAMESPACE,
      flavor: o.flavor,
      controlPlanes: o.controlPlanes,
      workers: o.workers,
      cloudsFile: env.cloudsYamlPath,
    }),
  );
  const manifestPath = join(env.workDir, "cluster.yaml");
  writeFileSync(manifestPath, generated.yaml, { mode: 0o600 });
  progress.line(
    `- generated cluster ${DEMO_CLUSTER} (flavor ${o.flavor}, ${o.controlPlanes} control plane + ${o.workers} workers): ` +
      `${generated.objects.length} objects, ${manifestPath}`,
  );
  const objects = generated.objects.map(defaultAsCapiWebhooksWould) as KubernetesObject[];
  await d.signals.race(applyObjects(d.client, objects, "capo-demo"));
  progress.line(`- applied: ${generated.objects.map((x) => x.kind).join(", ")}`);

  const expected = o.controlPlanes + o.workers;
  const started = Date.now();
  const view = await waitUntilNodesReady(d, expected);
  progress.done();
  progress.line(
    `\nall ${expected} Nodes Ready in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(real Cluster API ${env.bins.capiVersion} managers + workload-cluster emulator)\n`,
  );
  progress.line(`Cluster API and capo objects (namespace ${DEMO_NAMESPACE}):`);
  progress.line(renderObjects(await readClusterObjects(d.client, DEMO_NAMESPACE)));
  progress.line(`\nNodes of the workload cluster (its API server at ${view.endpoint ?? "?"}):`);
  progress.line(renderNodes(view.nodes));
  const inventory = await fetchInventory(env.sim.adminUrl, DEMO_PROJECT);
  progress.line(`\nOpenStack resources behind them (simulator inventory, project ${DEMO_PROJECT}):`);
  progress.line(inventory ? renderInventory(inventory) : "  (project not found)");
}

async function waitUntilNodesReady(d: Demo, expected: number): Promise<ClusterView> {
  const deadline = Date.now() + d.o.timeoutMs;
  const missing = d.env.missingControllers.length > 0 ? ` · MISSING controllers: ${d.env.missingControllers.join(", ")}` : "";
  for (;;) {
    const view = await readClusterView(d.client, d.capi, DEMO_NAMESPACE, DEMO_CLUSTER).catch(() => undefined);
    d.progress.status(describeView(view, expected) + missing);
    if (view && allNodesReady(view, expected)) return view;
    if (Date.now() > deadline) throw await timedOut(d, view, expected, missing !== "");
    await d.signals.sleep(500);
  }
}

async function timedOut(d: Demo, view: ClusterView | undefined, expected: number, controllersMissing: boolean): Promise<Error> {
  d.progress.done();
  let objects: string;
  try {
    objects = renderObjects(await readClusterObjects(d.client, DEMO_NAMESPACE));
  } catch (e) {
    objects = `  (cannot read the objects: ${errorMessage(e)})`;
  }
  d.progress.line(`state at the timeout:\n${objects}`);
  return new Error(
    `timed out after ${Math.round(d.o.timeoutMs / 1000)} s waiting for ${expected} Ready Nodes: ${describeView(view, expected)}` +
      (controllersMissing
        ? `; the ${d.env.missingControllers.join(" and ")} controller(s) are not registered in src/controllers/index.ts`
        : "; see the conditions above and the controller log"),
  );
}

function printHowToReach(env: LocalEnvironment, capi: RealCapi, progress: Progress): void {
  const kc = env.controlPlane.kubeconfigPath;
  const workloadKc = join(env.workDir, "workload.kubeconfig");
  progress.line(
    [
      "",
      "The demo keeps running; press Ctrl-C to stop it and remove everything it started.",
      `  kubeconfig:  ${kc}`,
      `  try:         KUBECONFIG=${kc} kubectl get clusters,machines,openstackclusters,openstackmachines -A`,
      `  OpenStack:   OS_CLIENT_CONFIG_FILE=${env.cloudsYamlPath} OS_CLOUD=${SIM_CLOUD_NAME} openstack server list`,
      `  scale:       KUBECONFIG=${kc} kubectl patch machinedeployment ${DEMO_CLUSTER}-md-0 --type merge -p '{"spec":{"replicas":3}}'`,
      `  Nodes:       KUBECONFIG=${kc} kubectl get secret ${DEMO_CLUSTER}-kubeconfig -o jsonpath='{.data.value}' | base64 -d > ${workloadKc}`,
      `               nsenter --net=${capi.netnsPath} kubectl --kubeconfig ${workloadKc} get nodes   (the endpoint answers only in that namespace)`,
      `  manifests:   ${join(env.workDir, "cluster.yaml")}`,
    ].join("\n"),
  );
}

async function cleanUp(env: LocalEnvironment | undefined, progress: Progress, signals: ShutdownSignal): Promise<void> {
  progress.done();
  if (signals.received) progress.line(`\n${signals.received}: stopping`);
  progress.line("cleaning up: emulator, Cluster API managers, controllers, simulator, kube-apiserver, etcd, temp dir");
  await env?.stop();
  signals.dispose();
  progress.line("cleaned up");
}

/** The work dir goes away on exit; a failed run keeps the controller log for the user. */
function keepControllerLog(env: LocalEnvironment, progress: Progress): void {
  const kept = join(tmpdir(), `capo-demo-controllers-${Date.now()}.log`);
  try {
    copyFileSync(env.controllerLogPath, kept);
    progress.line(`controller log kept at ${kept}`);
  } catch {
    // No log (controllers not started): nothing to keep.
  }
}
