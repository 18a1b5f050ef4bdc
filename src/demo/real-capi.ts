import { spawnSync } from "node:child_process";
import { startWorkloadClusterEmulator, type WorkloadClusterEmulator } from "../emulator/index.js";
import type { EmulatedClusterStatus } from "../emulator/index.js";
import { startCapiManagers, type CapiManagers, type TestBins } from "../testenv/index.js";

/**
 * The simulator's floating-IP range (its "public" network). Made local inside the managers' network namespace, so the
 * workload-cluster emulator can serve each cluster's API at its floating IP there and the real managers reach it.
 */
export const SIM_FLOATING_IP_RANGE = "172.24.4.0/24";

/** The real Cluster API managers and the workload-cluster emulator that plays the servers' kubeadm boot. */
export interface RealCapi {
  readonly managers: CapiManagers;
  readonly emulator: WorkloadClusterEmulator;
  /** The network namespace both live in (the only place a cluster's endpoint answers). */
  readonly netnsPath: string;
  /** Stops the emulator, then the managers. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts CAPI v<bins.capiVersion>'s core, kubeadm bootstrap and kubeadm control-plane managers in a private network
 * namespace (src/testenv/capi-managers.ts says why), and the emulator in the same namespace, fed by the simulator's
 * data plane.
 */
export async function startRealCapi(o: { bins: TestBins; kubeconfigPath: string; simAdminUrl: string; workDir: string }): Promise<RealCapi> {
  const binary = o.bins.capiManagers?.workloadClusterEmulator;
  if (!o.bins.capiManagers || !binary) throw new Error("hack/testbins.sh recorded no Cluster API managers or workload-cluster emulator");
  const managers = await startCapiManagers({
    kubeconfigPath: o.kubeconfigPath,
    workDir: o.workDir,
    bins: o.bins.capiManagers,
    localRoutes: [SIM_FLOATING_IP_RANGE],
  });
  const netnsPath = `/proc/${managers.forwarderPid}/ns/net`;
  let emulator: WorkloadClusterEmulator;
  try {
    emulator = await startWorkloadClusterEmulator({ binary, simAdminUrl: o.simAdminUrl, netnsPath, workDir: o.workDir });
  } catch (e) {
    await managers.stop();
    throw e;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await emulator.stop();
      await managers.stop();
    })();
    return stopped;
  };
  return { managers, emulator, netnsPath, stop };
}

/** The emulated cluster at `endpoint`, or undefined while it does not exist yet (no control plane booted). */
export async function emulatedCluster(capi: RealCapi, endpoint: string): Promise<EmulatedClusterStatus | undefined> {
  try {
    return await capi.emulator.status(endpoint);
  } catch {
    return undefined;
  }
}

/** A host tool the real managers need, with the package that provides it. */
const HOST_TOOLS: [tool: string, provider: string][] = [
  ["unshare", "util-linux"],
  ["nsenter", "util-linux"],
  ["ip", "iproute2"],
  ["openssl", "openssl"],
];

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/**
 * What this machine lacks to run the real Cluster API managers, each with how to fix it; empty when nothing.
 * `needsGo`: the managers are not built yet (hack/testbins.sh builds them with the Go toolchain).
 */
export function missingForRealCapi(needsGo: boolean): string[] {
  const missing = HOST_TOOLS.filter(([tool]) => !onPath(tool)).map(([tool, pkg]) => `the ${tool} command (install ${pkg})`);
  if (needsGo && !onPath("go")) missing.push("the Go toolchain to build them once (install Go >= 1.24 and put `go` on PATH)");
  if (missing.some((m) => m.includes("unshare") || m.includes(" ip "))) return missing;
  // The managers' webhook servers bind every interface, so they run in a private network namespace: that needs root.
  const probe = spawnSync("unshare", ["--net", "--", "ip", "link", "set", "lo", "up"], { stdio: ["ignore", "ignore", "pipe"] });
  if (probe.status !== 0) {
    const why = probe.stderr.toString().trim() || `exit code ${probe.status ?? "?"}`;
    missing.push(
      `permission to create a network namespace (\`unshare --net\` says: ${why}): run capo demo as root, ` +
        "e.g. with sudo, or in a container started with --cap-add SYS_ADMIN",
    );
  }
  return missing;
}
