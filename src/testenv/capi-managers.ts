import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { onProcessExit } from "./exit-cleanup.js";
import { FORWARDER_READY_LINE, FORWARDER_SCRIPT, listenUnixRelay } from "./netns-forwarder.js";
import type { NetnsForwarderConfig } from "./netns-forwarder.js";
import { ensureTestBins } from "./testbins.js";
import type { CapiManagerBins } from "./testbins.js";
import { spawnTied } from "./tied-process.js";
import type { TiedProcess } from "./tied-process.js";

/**
 * Cluster API's core, kubeadm bootstrap and kubeadm control-plane managers, run as processes against a test
 * kube-apiserver.
 *
 * Why a network namespace: each manager always starts a webhook server that binds every interface (CAPI's main
 * never sets controller-runtime's webhook Host, and no flag or environment variable does), and we allow listeners
 * only on loopback. So all three run in one private network namespace that holds nothing but its own `lo`: their
 * listeners exist only in there, and they cannot reach any network at all (a workload cluster's endpoint is simply
 * unreachable, which is what we want without a workload cluster). They reach the apiserver through a relay:
 * 127.0.0.1:6443 in the namespace -> a unix socket in the work dir -> the apiserver's address in ours.
 * Their health ports are relayed back the same way, so we can ask each /readyz.
 */
export interface CapiManagers {
  /** Stops the managers and the relays, removes the work dir (logs() still answers). Safe to call twice. */
  stop(): Promise<void>;
  /** All managers' logs, each under a `==> name <==` header. */
  logs(): string;
  /** The managers' pids: core, kubeadm bootstrap, kubeadm control plane. */
  pids: number[];
  /** The pid of the relay process that holds the private network namespace. */
  forwarderPid: number;
}

export interface StartCapiManagersOptions {
  /** Admin kubeconfig of the apiserver to manage (its current context is used). */
  kubeconfigPath: string;
  /** Parent of the temp work dir (kubeconfig, webhook cert, sockets, logs); default: the OS temp dir. */
  workDir?: string;
  /**
   * Reconcile only objects labelled `cluster.x-k8s.io/watch-filter=<watchFilter>` (CAPI's `--watch-filter`), so
   * that these managers leave other tests' Cluster API objects in a shared apiserver alone; default: all objects.
   * Label the Cluster, the KubeadmControlPlane and its machineTemplate.metadata (KCP copies those labels to the
   * Machines, KubeadmConfigs and infrastructure machines it creates), MachineDeployments and their templates.
   *
   * Why not `--namespace`: with it, CAPI v1.14.2's managers build a multi-namespace cache, whose informers are not
   * SharedIndexInformers; KubeadmControlPlane casts its Machine informer to one and fails every reconcile after its
   * first write ("failed to cast Machine informer to SharedIndexInformer"). The watch filter keeps the cache
   * cluster-wide and only filters what is reconciled.
   */
  watchFilter?: string;
  /** How long to wait for every manager's /readyz; default 120 s. */
  readyTimeoutMs?: number;
  /** Manager binaries; default: the ones hack/testbins.sh built. */
  bins?: CapiManagerBins;
  /**
   * CIDRs made local inside the namespace (`ip route add local <cidr> dev lo`): a floating-IP range, so that the
   * workload-cluster emulator can listen on any of its addresses there and the managers reach it. Default: none.
   */
  localRoutes?: string[];
}

interface ManagerSpec {
  name: string;
  binary: string;
  /** Ports inside the private namespace: nothing else lives there, so fixed ports cannot collide. */
  healthPort: number;
  webhookPort: number;
}

/** The apiserver's port inside the namespace. */
export const INNER_APISERVER_PORT = 6443;

export async function startCapiManagers(opts: StartCapiManagersOptions): Promise<CapiManagers> {
  const bins = opts.bins ?? (await ensureTestBins()).capiManagers;
  if (!bins) throw new Error("hack/testbins.sh recorded no Cluster API manager binaries");
  const specs: ManagerSpec[] = [
    { name: "capi-core", binary: bins.core, healthPort: 9440, webhookPort: 9443 },
    { name: "capi-kubeadm-bootstrap", binary: bins.kubeadmBootstrap, healthPort: 9441, webhookPort: 9444 },
    { name: "capi-kubeadm-control-plane", binary: bins.kubeadmControlPlane, healthPort: 9442, webhookPort: 9445 },
  ];

  const parent = opts.workDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "capo-capi-"));
  const processes: TiedProcess[] = [];
  let relayServer: Server | undefined;
  let finalLogs: string | undefined;
  const collectLogs = (): string =>
    processes
      .map((p) => {
        let text = "";
        try {
          text = readFileSync(p.logPath, "utf8");
        } catch {
          // Not written yet.
        }
        return `==> ${p.name} <==\n${text}`;
      })
      .join("\n");
  const unregister = onProcessExit(() => {
    for (const p of processes) p.killNow();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Managers first (in parallel: each may take a moment to shut down its controllers), then the relays.
      await Promise.all(processes.slice(1).map((p) => p.stop(10_000)));
      await processes[0]?.stop(5_000);
      await new Promise<void>((r) => (relayServer ? relayServer.close(() => r()) : r()));
      finalLogs = collectLogs();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      unregister();
    })();
    return stopped;
  };

  try {
    const apiserver = writeInnerKubeconfig(opts.kubeconfigPath, join(dir, "kubeconfig"));
    const apiSocket = join(dir, "apiserver.sock");
    // sun_path holds 108 bytes; a longer socket path fails with an unhelpful EINVAL much later.
    const longest = Math.max(apiSocket.length, ...specs.map((s) => healthSocket(dir, s).length));
    if (longest > 100) throw new Error(`workDir ${parent} is too deep for unix socket paths; use a shorter one`);
    relayServer = await listenUnixRelay(apiSocket, apiserver);
    const certDir = join(dir, "webhook-certs");
    writeWebhookCert(certDir);

    const config: NetnsForwarderConfig = {
      tcpToUnix: [{ port: INNER_APISERVER_PORT, socket: apiSocket }],
      unixToTcp: specs.map((s) => ({ socket: healthSocket(dir, s), port: s.healthPort })),
    };
    // Creating a network namespace needs CAP_SYS_ADMIN (root); without it unshare says "Operation not permitted".
    const forwarder = spawnTied(
      "capi-netns-forwarder",
      "unshare",
      // unshare (no --fork), sh and node exec one another: one pid, so spawnTied's parent-death signal holds.
      ["--net", "--", "sh", "-c", `ip link set lo up && ${localRouteCommands(opts.localRoutes)}exec "$0" "$@"`, process.execPath, "-e", FORWARDER_SCRIPT,
        JSON.stringify(config)],
      join(dir, "netns-forwarder.log"),
    );
    processes.push(forwarder);
    await waitUntil([forwarder], 20_000, () => forwarder.logTail(5).includes(FORWARDER_READY_LINE));

    const netns = `/proc/${forwarder.pid}/ns/net`;
    const managers = specs.map((s) =>
      // nsenter without --fork execs the manager in place: the pid we record is the manager's.
      spawnTied(s.name, "nsenter", [`--net=${netns}`, "--", s.binary, ...managerArgs(s, dir, certDir, opts.watchFilter)],
        join(dir, `${s.name}.log`)),
    );
    processes.push(...managers);
    const ready = new Set<string>();
    await waitUntil([forwarder, ...managers], opts.readyTimeoutMs ?? 120_000, async () => {
      await Promise.all(
        specs.map(async (s) => {
          if (!ready.has(s.name) && (await readyzOk(healthSocket(dir, s)))) ready.add(s.name);
        }),
      );
      return ready.size === specs.length;
    });
    return {
      stop,
      logs: () => finalLogs ?? collectLogs(),
      pids: managers.map((m) => m.pid),
      forwarderPid: forwarder.pid,
    };
  } catch (e) {
    const tails = processes.map((p) => `==> ${p.name} <==\n${p.logTail(25)}`).join("\n");
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last log lines:\n${tails}`);
  }
}

function localRouteCommands(cidrs: string[] = []): string {
  return cidrs
    .map((cidr) => {
      if (!/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(cidr)) throw new Error(`localRoutes: "${cidr}" is not a CIDR`);
      return `ip route add local ${cidr} dev lo && `;
    })
    .join("");
}

function healthSocket(dir: string, s: ManagerSpec): string {
  return join(dir, `${s.name}-health.sock`);
}

function managerArgs(s: ManagerSpec, dir: string, certDir: string, watchFilter: string | undefined): string[] {
  return [
    `--kubeconfig=${join(dir, "kubeconfig")}`,
    "--leader-elect=false",
    `--health-addr=127.0.0.1:${s.healthPort}`,
    // "0" turns the metrics/diagnostics server off: nothing reads it.
    "--diagnostics-address=0",
    `--webhook-port=${s.webhookPort}`,
    `--webhook-cert-dir=${certDir}`,
    // The CRD migrator would rewrite every CAPI object and the CRDs' storedVersions in an apiserver that other
    // tests share; everything there is stored at v1beta2 already, so there is nothing to migrate.
    "--skip-crd-migration-phases=StorageVersionMigration,CleanupManagedFields",
    ...(watchFilter ? [`--watch-filter=${watchFilter}`] : []),
  ];
}

/**
 * Writes a kubeconfig for use inside the namespace: the current context's server becomes 127.0.0.1:6443 (the
 * relay), with tls-server-name keeping certificate checks against the real name. Returns where the relay must
 * connect in our namespace.
 */
export function writeInnerKubeconfig(sourcePath: string, targetPath: string): { host: string; port: number } {
  interface NamedCluster {
    name: string;
    cluster: Record<string, unknown> & { server: string };
  }
  interface NamedContext {
    name: string;
    context: { cluster: string };
  }
  interface NamedUser {
    name: string;
    user: Record<string, unknown>;
  }
  const config = parse(readFileSync(sourcePath, "utf8")) as {
    "current-context"?: string;
    clusters?: NamedCluster[];
    contexts?: NamedContext[];
    users?: NamedUser[];
  };
  const context = config.contexts?.find((c) => c.name === config["current-context"]);
  const cluster = config.clusters?.find((c) => c.name === context?.context.cluster);
  if (!cluster) throw new Error(`${sourcePath}: the current context names no cluster`);
  const url = new URL(cluster.cluster.server);
  if (url.protocol !== "https:") throw new Error(`${sourcePath}: server ${url.href} is not https`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port ? Number(url.port) : 443;
  cluster.cluster.server = `https://127.0.0.1:${INNER_APISERVER_PORT}`;
  if (host !== "127.0.0.1") cluster.cluster["tls-server-name"] ??= host;
  // File references in a kubeconfig are relative to the kubeconfig's own directory, which is no longer ours.
  const base = dirname(resolve(sourcePath));
  const absolutize = (entry: Record<string, unknown>, keys: string[]): void => {
    for (const key of keys) {
      const value = entry[key];
      if (typeof value === "string" && !isAbsolute(value)) entry[key] = resolve(base, value);
    }
  };
  for (const c of config.clusters ?? []) absolutize(c.cluster, ["certificate-authority"]);
  for (const u of config.users ?? []) absolutize(u.user, ["client-certificate", "client-key", "tokenFile"]);
  writeFileSync(targetPath, stringify(config), { mode: 0o600 });
  return { host, port };
}

/**
 * A self-signed serving cert for the webhook servers. Nothing calls their webhooks (no webhook configuration is
 * installed), but they refuse to start without one, and their readiness check is a TLS dial to it.
 */
export function writeWebhookCert(certDir: string): void {
  mkdirSync(certDir, { recursive: true });
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=capi-webhook.localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "-keyout", join(certDir, "tls.key"), "-out", join(certDir, "tls.crt")],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (e) {
    throw new Error(
      `could not create the Cluster API webhook serving certificate with openssl (install openssl): ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
}

export function readyzOk(socketPath: string): Promise<boolean> {
  return new Promise((resolveOk) => {
    const req = request({ socketPath, path: "/readyz", timeout: 2_000 }, (res) => {
      res.resume();
      resolveOk(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolveOk(false));
    req.end();
  });
}

/** Polls `probe` until it is true; fails early if one of `procs` exits. */
async function waitUntil(
  procs: TiedProcess[],
  timeoutMs: number,
  probe: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.hasExited());
    if (dead) {
      const info = await dead.exited;
      const why = info.error ? info.error.message : `exit code ${info.code ?? "-"}, signal ${info.signal ?? "-"}`;
      throw new Error(`${dead.name} exited during startup (${why})`);
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`Cluster API managers not ready after ${timeoutMs} ms (${procs.map((p) => p.name).join(", ")})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
