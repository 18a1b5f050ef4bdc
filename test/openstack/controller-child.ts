// Fixture of the real-OpenStack tier (run with vite-node, not a test itself): every registered controller, as
// `capo controller` runs them, in a process of its own so a test can SIGKILL it. Each OpenStack request it makes is
// appended as a JSON line to CAPO_OS_REQUEST_LOG (method, path template, status), for the real-vs-simulator diff.
import { appendFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { controllers } from "../../src/controllers/index.js";
import { Manager, Metrics, createLogger, type OpenStackRequestSample } from "../../src/runtime/index.js";

const kubeconfigPath = process.env["CAPO_TEST_KUBECONFIG"];
const namespace = process.env["CAPO_TEST_NAMESPACE"];
const requestLog = process.env["CAPO_OS_REQUEST_LOG"];
const resyncMs = Number(process.env["CAPO_RESYNC_MS"] ?? "10000");
if (!kubeconfigPath || !namespace || !requestLog) throw new Error("set CAPO_TEST_KUBECONFIG, CAPO_TEST_NAMESPACE and CAPO_OS_REQUEST_LOG");

/** Metrics that also write each OpenStack request down, in the order the responses came. */
class RecordingMetrics extends Metrics {
  override recordOpenStackRequest(s: OpenStackRequestSample): void {
    super.recordOpenStackRequest(s);
    appendFileSync(requestLog!, `${JSON.stringify({ service: s.service, method: s.method.toUpperCase(), path: s.pathTemplate, status: s.status })}\n`);
  }
}

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const manager = new Manager({ kubeConfig, log: createLogger({ level: "info" }), namespace, metrics: new RecordingMetrics(), syncPeriodMs: resyncMs });
for (const c of controllers) manager.add(c);
await manager.start();
process.stdout.write(`${JSON.stringify({ msg: "controller started" })}\n`);
setInterval(() => undefined, 60_000);
