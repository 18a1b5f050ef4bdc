// Fixture for controller-cluster-restart.test.ts (run with vite-node, not a test itself): the OpenStackCluster
// controller in its own process, so the test can SIGKILL it at any point. Logs JSON lines on stdout.
import { KubeConfig } from "@kubernetes/client-node";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { Manager, Metrics, createLogger } from "../../src/runtime/index.js";
import { fastClusterControllerOptions } from "./controller-cluster-fixtures.js";

const kubeconfigPath = process.env["CAPO_TEST_KUBECONFIG"];
const namespace = process.env["CAPO_TEST_NAMESPACE"];
if (!kubeconfigPath || !namespace) throw new Error("set CAPO_TEST_KUBECONFIG and CAPO_TEST_NAMESPACE");
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const manager = new Manager({ kubeConfig, log: createLogger({ level: "debug" }), namespace, metrics: new Metrics(), syncPeriodMs: 600_000 });
manager.add(openStackClusterController(fastClusterControllerOptions));
await manager.start();
process.stdout.write(`${JSON.stringify({ msg: "controller started" })}\n`);
setInterval(() => undefined, 60_000);
