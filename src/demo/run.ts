import { copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { generateCluster, type TemplateFlavor } from "../manifests/generate/index.js";
import { KubeClient } from "../runtime/index.js";
import { errorMessage } from "../util/errors.js";
import { applyObjects } from "./apply.js";
import { simClusterOptions } from "./cluster-options.js";
import { CapiCoreStandIn, type StandInClusterView } from "./capi-core-stand-in.js";
import { SIM_CLOUD_NAME, startLocalEnvironment, type LocalEnvironment } from "./environment.js";
import { Progress } from "./progress.js";
import { fetchInventory, readClusterObjects, renderInventory, renderObjects } from "./report.js";
import { Interrupted, ShutdownSignal } from "./signals.js";

export interface DemoOptions {
  /** Exit after showing the result instead of running until Ctrl-C. */
  exit: boolean;
  flavor: TemplateFlavor;
  controlPlanes: number;
  workers: number;
  /** How long to wait for every machine to be provisioned. */
  timeoutMs: number;
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const DEMO_CLUSTER = "demo";
export const DEMO_NAMESPACE = "default";
const DEMO_PROJECT = "demo";


/**
 * `capo demo`: the whole flow on this machine. Starts the simulator, etcd + kube-apiserver and our controllers,
 * generates and applies a cluster, plays CAPI core's part with the stand-in (clearly labelled as simulated), waits
 * with progress until every machine is provisioned, prints the objects and the OpenStack resources behind them, then
 * runs until Ctrl-C (or exits with `exit`). Everything it started is stopped and removed on the way out.
 */
export async function runDemo(o: DemoOptions): Promise<void> {
  const out = o.out ?? process.stdout;
  const progress = new Progress(out);
  const signals = new ShutdownSignal();
  let env: LocalEnvironment | undefined;
  let standIn: CapiCoreStandIn | undefined;
  try {
    progress.line("capo demo: OpenStack simulator + local etcd/kube-apiserver + capo controllers, all on 127.0.0.1");
    env = await signals.race(
      startLocalEnvironment({
        // Room for --control-planes/--workers up to 20 each; the rest of the default world stays as it is.
        simConfig: { quotas: { instances: 64, cores: 256, ram: 1_048_576, port: 1000 } },
        onStep: (m) => progress.line(`- ${m}`),
      }),
    );
    const cp = env.controlPlane;
    progress.line(`- simulator       ${env.sim.url} (in this process)`);
    progress.line(`- etcd            http://127.0.0.1:${cp.ports.etcdClient} (pid ${cp.pids.etcd})`);
    progress.line(`- kube-apiserver  ${cp.apiServerUrl} (pid ${cp.pids.kubeApiserver})`);
    progress.line(`- controllers     ${env.controllers.join(", ") || "(none)"} (log: ${env.controllerLogPath})`);
    if (env.missingControllers.length > 0) {
      progress.line(`! not registered in src/controllers/index.ts: ${env.missingControllers.join(", ")} (the cluster cannot be provisioned without them)`);
    }

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
    const client = new KubeClient(env.kubeConfig, { userAgent: "capo-demo" });
    try {
      await signals.race(applyObjects(client, generated.objects as KubernetesObject[], "capo-demo"));
      progress.line(`- applied: ${generated.objects.map((x) => x.kind).join(", ")}`);

      progress.line("- starting the CAPI core stand-in: SIMULATED Cluster API core/kubeadm (no real CAPI managers run)");
      standIn = new CapiCoreStandIn({ kubeConfig: env.kubeConfig, namespace: DEMO_NAMESPACE, log: (l) => progress.line(`  ${l}`) });
      standIn.start();

      const expected = o.controlPlanes + o.workers;
      const startedWaiting = Date.now();
      await waitUntilProvisioned(standIn, expected, o.timeoutMs, env, progress, signals, client);
      progress.done();
      progress.line(`\nall ${expected} machines provisioned in ${((Date.now() - startedWaiting) / 1000).toFixed(1)} s\n`);

      progress.line(`Cluster API and capo objects (namespace ${DEMO_NAMESPACE}):`);
      progress.line(renderObjects(await readClusterObjects(client, DEMO_NAMESPACE)));
      const inventory = await fetchInventory(env.sim.adminUrl, DEMO_PROJECT);
      progress.line(`\nOpenStack resources behind them (simulator inventory, project ${DEMO_PROJECT}):`);
      progress.line(inventory ? renderInventory(inventory) : "  (project not found)");
    } finally {
      client.close();
    }

    if (!o.exit) {
      const kc = cp.kubeconfigPath;
      progress.line(
        [
          "",
          "The demo keeps running; press Ctrl-C to stop it and remove everything it started.",
          `  kubeconfig:  ${kc}`,
          `  try:         KUBECONFIG=${kc} kubectl get clusters,machines,openstackclusters,openstackmachines -A`,
          `  OpenStack:   OS_CLIENT_CONFIG_FILE=${env.cloudsYamlPath} OS_CLOUD=${SIM_CLOUD_NAME} openstack server list`,
          `  scale:       KUBECONFIG=${kc} kubectl patch machinedeployment ${DEMO_CLUSTER}-md-0 --type merge -p '{"spec":{"replicas":3}}'`,
          `  manifests:   ${join(env.workDir, "cluster.yaml")}`,
        ].join("\n"),
      );
      await signals.wait();
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) {
      if (env) keepControllerLog(env, progress);
      throw e;
    }
  } finally {
    progress.done();
    if (signals.received) progress.line(`\n${signals.received}: stopping`);
    progress.line("cleaning up: stand-in, controllers, simulator, kube-apiserver, etcd, temp dir");
    await standIn?.stop();
    await env?.stop();
    signals.dispose();
    progress.line("cleaned up");
  }
  finish(signals);
}

function finish(signals: ShutdownSignal): void {
  const code = signals.exitCode();
  if (code !== undefined) process.exitCode = code;
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

function describeView(v: StandInClusterView | undefined, expected: number): string {
  if (!v) return "waiting for the Cluster to be seen";
  const infra = v.infrastructureProvisioned ? `infrastructure provisioned${v.controlPlaneEndpoint ? ` (endpoint ${v.controlPlaneEndpoint})` : ""}` : "provisioning the cluster infrastructure (network, router, security groups, API endpoint)";
  return `${infra} · machines: ${v.machines}/${expected} created, ${v.machinesProvisioned}/${expected} provisioned`;
}

async function waitUntilProvisioned(
  standIn: CapiCoreStandIn,
  expected: number,
  timeoutMs: number,
  env: LocalEnvironment,
  progress: Progress,
  signals: ShutdownSignal,
  client: KubeClient,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const missing = env.missingControllers.length > 0 ? ` · MISSING controllers: ${env.missingControllers.join(", ")}` : "";
  for (;;) {
    const view = standIn.clusters().find((c) => c.name === DEMO_CLUSTER);
    progress.status(describeView(view, expected) + missing);
    if (view && view.infrastructureProvisioned && view.machines === expected && view.machinesProvisioned === expected) return;
    if (Date.now() > deadline) {
      progress.done();
      let objects = "";
      try {
        objects = renderObjects(await readClusterObjects(client, DEMO_NAMESPACE));
      } catch (e) {
        objects = `  (cannot read the objects: ${errorMessage(e)})`;
      }
      progress.line(`state at the timeout:\n${objects}`);
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${expected} provisioned machines: ${describeView(view, expected)}` +
          (missing
            ? `; the ${env.missingControllers.join(" and ")} controller(s) are not registered in src/controllers/index.ts`
            : `; see the conditions above and the controller log`),
      );
    }
    await signals.sleep(500);
  }
}
