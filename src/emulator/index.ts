import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataplaneView } from "../sim/dataplane.js";
import { NodeAgent } from "./node-agent.js";
import { startWcemu } from "./wcemu.js";
import type { EmulatedClusterStatus, WcemuClient } from "./wcemu.js";

export type { EmulatedClusterStatus } from "./wcemu.js";

export interface WorkloadClusterEmulator {
  /** What the emulated cluster at `endpoint` (host:port) holds, and whether its endpoint answers right now. */
  status(endpoint: string): Promise<EmulatedClusterStatus>;
  /** The helper's log and the last sync error, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
  client: WcemuClient;
}

export interface StartEmulatorOptions {
  /** The Go helper (hack/testbins.sh builds it; paths.json `capiManagers.workloadClusterEmulator`). */
  binary: string;
  /** The simulator's admin URL (`RunningSimulator.adminUrl`), whose /dataplane the agent reads. */
  simAdminUrl: string;
  /** Run the helper in this network namespace (the CAPI managers'); default: ours (loopback endpoints only). */
  netnsPath?: string;
  /** Parent of the helper's work dir (control socket, log). */
  workDir?: string;
  /** Time between passes over the data plane; default 200 ms. */
  intervalMs?: number;
}

/** Starts the Go helper and the node agent that drives it from the simulator's data plane. */
export async function startWorkloadClusterEmulator(opts: StartEmulatorOptions): Promise<WorkloadClusterEmulator> {
  const dir = mkdtempSync(join(opts.workDir ?? tmpdir(), "capo-wcemu-"));
  const helper = await startWcemu(opts.binary, dir, opts.netnsPath);
  const agent = new NodeAgent(helper.client);
  let lastError = "";
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        const r = await fetch(`${opts.simAdminUrl}/dataplane`);
        if (!r.ok) throw new Error(`GET ${opts.simAdminUrl}/dataplane answered ${r.status}`);
        await agent.sync((await r.json()) as DataplaneView);
        lastError = "";
      } catch (e) {
        // The simulator may be closing, or a call to the helper failed: the next pass starts from the facts again.
        lastError = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  })();
  let finalLog: string | undefined;
  return {
    client: helper.client,
    status: (endpoint) => helper.client.status(endpoint),
    logs: () => `${finalLog ?? helper.process.logTail(200)}${lastError ? `\nlast sync error: ${lastError}` : ""}`,
    stop: async () => {
      stopping = true;
      await loop;
      await helper.process.stop(5_000);
      finalLog = helper.process.logTail(200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
