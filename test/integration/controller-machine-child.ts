// Fixture for controller-machine-kill.test.ts (run with vite-node, not a test itself): the OpenStackMachine
// controller in its own process, so that the test can SIGKILL it at any point. Logs JSON lines on stdout.
import { KubeConfig } from "@kubernetes/client-node";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { Manager, Metrics, createLogger } from "../../src/runtime/index.js";

const kubeconfigPath = process.env["CAPO_TEST_KUBECONFIG"];
const namespace = process.env["CAPO_TEST_NAMESPACE"];
if (!kubeconfigPath || !namespace) throw new Error("set CAPO_TEST_KUBECONFIG and CAPO_TEST_NAMESPACE");
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const manager = new Manager({ kubeConfig, log: createLogger({ level: "info" }), namespace, metrics: new Metrics(), syncPeriodMs: 5_000 });
manager.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 500, recheckMs: 2_000, createGraceMs: 3_000, concurrency: 10 }));
await manager.start();
process.stdout.write(`${JSON.stringify({ msg: "controller started" })}\n`);
setInterval(() => undefined, 60_000);
