/**
 * capo-ts for the side-by-side benchmark exactly as it ships: the built CLI's `capo controller` (dist/src/cli/main.js)
 * in a process of its own, with its defaults except the addresses (health on a free loopback port, metrics off as
 * upstream's diagnostics are, unless asked for to diagnose a run: serving them costs a little CPU). Not bench/controller-process.ts, whose harness loads the demo environment (simulator,
 * test environment, client-node's KubeConfig) and so measures more memory than the controller needs.
 */
import { join } from "node:path";
import { CONTROLLER_NODE_FLAGS } from "../src/cli/node-flags.js";
import { freePort } from "../src/testenv/free-port.js";
import { repoRoot } from "../src/testenv/index.js";
import { spawnTied, type TiedProcess } from "../src/testenv/tied-process.js";

export interface CapoControllerProcess {
  readonly pid: number;
  readonly logPath: string;
  /** The /metrics URL when started with metrics. */
  readonly metricsUrl?: string;
  stop(): Promise<void>;
}

export async function startCapoController(o: {
  kubeconfigPath: string;
  workDir: string;
  syncPeriod?: string;
  metrics?: boolean;
}): Promise<CapoControllerProcess> {
  const port = await freePort();
  const metricsPort = o.metrics ? await freePort() : undefined;
  const logPath = join(o.workDir, "capo-controller.log");
  const proc: TiedProcess = spawnTied("capo-controller", process.execPath, [
    ...CONTROLLER_NODE_FLAGS,
    join(repoRoot(), "dist", "src", "cli", "main.js"),
    "controller",
    `--kubeconfig=${o.kubeconfigPath}`,
    `--health-probe-bind-address=127.0.0.1:${port}`,
    `--metrics-bind-address=${metricsPort === undefined ? "0" : `127.0.0.1:${metricsPort}`}`,
    ...(o.syncPeriod ? [`--sync-period=${o.syncPeriod}`] : []),
  ], logPath);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.hasExited()) throw new Error(`capo controller exited during startup:\n${proc.logTail(20)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await proc.stop(5_000);
      throw new Error(`capo controller not ready after 60 s:\n${proc.logTail(20)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    pid: proc.pid,
    logPath,
    ...(metricsPort === undefined ? {} : { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }),
    stop: () => proc.stop(35_000),
  };
}
