/**
 * Upstream CAPO's manager for the side-by-side benchmark, run in the Cluster API managers' private network
 * namespace: its webhook server binds every interface (like CAPI's), so it may only live where nothing else can
 * reach. A second forwarder in that namespace gives it the simulator at the same 127.0.0.1:<port> the clouds.yaml
 * names (relayed through a unix socket to the simulator in our namespace) and relays its health port back to us.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:net";
import { join } from "node:path";
import { readyzOk, writeInnerKubeconfig, writeWebhookCert } from "../src/testenv/capi-managers.js";
import { FORWARDER_READY_LINE, FORWARDER_SCRIPT, listenUnixRelay, type NetnsForwarderConfig } from "../src/testenv/netns-forwarder.js";
import { spawnTied, type TiedProcess } from "../src/testenv/tied-process.js";

/** Ports inside the namespace, next to the CAPI managers' (9440-9445). */
const HEALTH_PORT = 9450;
const WEBHOOK_PORT = 9446;

export interface UpstreamManager {
  /** The manager's own pid (nsenter and setpriv exec it in place). */
  readonly pid: number;
  readonly logPath: string;
  stop(): Promise<void>;
}

export async function startUpstreamManager(o: {
  binary: string;
  /** The test apiserver's admin kubeconfig (rewritten for the namespace's apiserver relay). */
  kubeconfigPath: string;
  /** /proc/<pid>/ns/net of the CAPI managers' namespace. */
  netnsPath: string;
  /** The simulator's port on 127.0.0.1 in our namespace. */
  simPort: number;
  workDir: string;
  /** Its --sync-period; default its own (10 min). */
  syncPeriod?: string;
}): Promise<UpstreamManager> {
  const dir = mkdtempSync(join(o.workDir, "capo-up-"));
  const procs: TiedProcess[] = [];
  let relay: Server | undefined;
  const stop = async (): Promise<void> => {
    await procs[1]?.stop(10_000);
    await procs[0]?.stop(5_000);
    await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
  };
  try {
    const kubeconfig = join(dir, "kubeconfig");
    writeInnerKubeconfig(o.kubeconfigPath, kubeconfig);
    const certDir = join(dir, "certs");
    writeWebhookCert(certDir);
    const simSocket = join(dir, "sim.sock");
    const healthSocket = join(dir, "health.sock");
    relay = await listenUnixRelay(simSocket, { host: "127.0.0.1", port: o.simPort });
    const config: NetnsForwarderConfig = {
      tcpToUnix: [{ port: o.simPort, socket: simSocket }],
      unixToTcp: [{ socket: healthSocket, port: HEALTH_PORT }],
    };
    const forwarder = spawnTied("capo-upstream-forwarder", "nsenter",
      [`--net=${o.netnsPath}`, "--", process.execPath, "-e", FORWARDER_SCRIPT, JSON.stringify(config)], join(dir, "forwarder.log"));
    procs.push(forwarder);
    await until(20_000, procs, () => forwarder.logTail(5).includes(FORWARDER_READY_LINE));
    const manager = spawnTied("capo-upstream", "nsenter", [`--net=${o.netnsPath}`, "--", o.binary,
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      `--health-addr=127.0.0.1:${HEALTH_PORT}`,
      "--diagnostics-address=0",
      `--webhook-port=${WEBHOOK_PORT}`,
      `--webhook-cert-dir=${certDir}`,
      // Every object in this fresh apiserver is stored at the served versions: nothing to migrate.
      "--skip-crd-migration-phases=StorageVersionMigration",
      "--skip-crd-migration-phases=CleanupManagedFields",
      ...(o.syncPeriod ? [`--sync-period=${o.syncPeriod}`] : []),
    ], join(dir, "manager.log"));
    procs.push(manager);
    await until(120_000, procs, () => readyzOk(healthSocket));
    return {
      pid: manager.pid,
      logPath: manager.logPath,
      stop: async () => {
        await stop();
        rmSync(join(dir, "certs"), { recursive: true, force: true });
      },
    };
  } catch (e) {
    const tails = procs.map((p) => `==> ${p.name} <==\n${p.logTail(20)}`).join("\n");
    await stop();
    throw new Error(`upstream CAPO did not start: ${e instanceof Error ? e.message : String(e)}\n${tails}`);
  }
}

async function until(timeoutMs: number, procs: TiedProcess[], probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.hasExited());
    if (dead) throw new Error(`${dead.name} exited`);
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
