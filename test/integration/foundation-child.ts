// Fixture for foundation.test.ts (run with vite-node, not a test itself): starts a control plane, prints its pids,
// ports and work dir as one JSON line, then waits to be killed by the test.
import { startControlPlane } from "../../src/testenv/index.js";

const cp = await startControlPlane();
process.stdout.write(`${JSON.stringify({ pids: cp.pids, ports: cp.ports, workDir: cp.workDir })}\n`);
// Keep the event loop alive: the control plane's processes are unref'd on purpose.
setInterval(() => undefined, 60_000);
