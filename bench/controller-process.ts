/**
 * The controllers under benchmark, in a process of their own (forked by bench/run.ts with an IPC channel), so that
 * their memory and CPU are measured apart from the simulator, the CAPI stand-in and the benchmark itself.
 *
 * argv: <kubeconfig> <log file>. Messages: -> {type:"usage"} answers {type:"usage", usage}; -> {type:"stop"} stops
 * the manager and answers {type:"stopped", usage}. Sends {type:"ready", usage} once the caches are synced.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { controllers } from "../src/controllers/index.js";
import { startControllerManager } from "../src/demo/environment.js";

export interface ControllerUsage {
  /** Peak resident set size (getrusage ru_maxrss), KiB. */
  maxRssKiB: number;
  rssBytes: number;
  /** Largest heapUsed seen by the 250 ms sampler. */
  peakHeapUsedBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export type ControllerMessage =
  | { type: "ready"; usage: ControllerUsage; controllers: string[] }
  | { type: "usage"; usage: ControllerUsage }
  | { type: "stopped"; usage: ControllerUsage }
  | { type: "error"; message: string };

let peakHeap = 0;
const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 250);

function usage(): ControllerUsage {
  const r = process.resourceUsage();
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  return { maxRssKiB: r.maxRSS, rssBytes: m.rss, peakHeapUsedBytes: peakHeap, cpuUserUs: r.userCPUTime, cpuSystemUs: r.systemCPUTime };
}

function send(m: ControllerMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const [kubeconfigPath, logPath] = process.argv.slice(2);
  if (!kubeconfigPath || !logPath || !process.send) throw new Error("usage: fork(controller-process.js, [kubeconfig, logFile]) with IPC");
  // Parent gone (killed, crashed): nothing left to measure for.
  process.on("disconnect", () => process.exit(0));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const running = await startControllerManager(kc, logPath);
  process.on("message", (msg: { type?: string }) => {
    if (msg.type === "usage") send({ type: "usage", usage: usage() });
    if (msg.type === "stop") {
      void running.stop().then(() => {
        clearInterval(sampler);
        send({ type: "stopped", usage: usage() });
        process.disconnect();
      });
    }
  });
  send({ type: "ready", usage: usage(), controllers: controllers.map((c) => `${c.name} (concurrency ${c.concurrency ?? 1})`) });
}

main().catch((e: unknown) => {
  send({ type: "error", message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
  process.disconnect?.();
});
