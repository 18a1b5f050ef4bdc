// Fixture for capi-managers.test.ts (run with vite-node, not a test itself): starts Cluster API's managers against
// the kubeconfig given as argv[2], in the work dir argv[3], prints their pids as one JSON line, then waits to be
// killed by the test.
import { startCapiManagers } from "../../src/testenv/capi-managers.js";

const [kubeconfigPath, workDir] = process.argv.slice(2);
if (!kubeconfigPath || !workDir) throw new Error("usage: capi-managers-child.ts KUBECONFIG WORKDIR");
const managers = await startCapiManagers({ kubeconfigPath, workDir, watchFilter: "capi-managers-child-none" });
process.stdout.write(`${JSON.stringify({ pids: managers.pids, forwarderPid: managers.forwarderPid })}\n`);
// Keep the event loop alive: the managers' processes are unref'd on purpose.
setInterval(() => undefined, 60_000);
