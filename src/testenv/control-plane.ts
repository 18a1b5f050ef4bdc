import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { onProcessExit } from "./exit-cleanup.js";
import { freePort } from "./free-port.js";
import { spawnTied } from "./tied-process.js";
import type { TiedProcess } from "./tied-process.js";
import { ensureTestBins } from "./testbins.js";

/** A local Kubernetes control plane: etcd + kube-apiserver on 127.0.0.1, nothing else (no controller-manager). */
export interface ControlPlane {
  /** Admin kubeconfig (user in group system:masters), written inside the work dir. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  readonly apiServerUrl: string;
  readonly workDir: string;
  readonly pids: { readonly etcd: number; readonly kubeApiserver: number };
  readonly ports: { readonly etcdClient: number; readonly etcdPeer: number; readonly apiServer: number };
  /** Stops both processes (SIGTERM, then SIGKILL) and removes the work dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartControlPlaneOptions {
  /** A directory holding kube-apiserver and etcd; default: the binaries from hack/testbins.sh. */
  binDir?: string;
  /** Parent of the temp work dir (certs, etcd data, logs, kubeconfig); default: the OS temp dir. */
  workDir?: string;
  /** How long to wait for /readyz; default 120 s (a loaded 2-core machine can take a while). */
  readyTimeoutMs?: number;
  /**
   * Writes the apiserver's audit log (every request at Metadata level: who, verb, resource, status) to this file, for
   * benchmarks that compare what two controllers ask of the apiserver. Off by default: it costs the apiserver CPU.
   */
  auditLogPath?: string;
}

const PORT_RETRIES = 3;

/**
 * Starts etcd and kube-apiserver on free 127.0.0.1 ports in a fresh temp dir and waits until the apiserver is ready.
 * Both processes die with this process (exit, Ctrl-C, SIGTERM; SIGKILL too where setpriv exists) and the temp dir is
 * removed, so no caller can leave anything behind.
 */
export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const bins = opts.binDir
    ? { kubeApiserver: join(opts.binDir, "kube-apiserver"), etcd: join(opts.binDir, "etcd") }
    : await ensureTestBins();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bins, opts);
    } catch (e) {
      // The free port we picked was taken by someone else before our child bound it: try again with new ports.
      if (attempt < PORT_RETRIES && e instanceof PortTakenError) continue;
      throw e;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(
  bins: { kubeApiserver: string; etcd: string },
  opts: StartControlPlaneOptions,
): Promise<ControlPlane> {
  const parent = opts.workDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "capo-testenv-"));
  const processes: TiedProcess[] = [];
  const killAllNow = (): void => {
    for (const p of processes) p.killNow();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const unregister = onProcessExit(killAllNow);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Apiserver first, so it does not log etcd connection errors while shutting down.
      for (const p of [...processes].reverse()) await p.stop();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      unregister();
    })();
    return stopped;
  };

  try {
    const [etcdClient, etcdPeer, apiServer] = [await freePort(), await freePort(), await freePort()];
    const etcd = startEtcd(bins.etcd, dir, etcdClient, etcdPeer);
    processes.push(etcd);
    await waitFor(etcd, 60_000, () => httpGetOk(`http://127.0.0.1:${etcdClient}/health`));

    const token = randomBytes(24).toString("hex");
    const kubeApiserver = startKubeApiserver(bins.kubeApiserver, dir, { etcdClient, apiServer, token }, opts.auditLogPath);
    processes.push(kubeApiserver);
    const certFile = join(dir, "apiserver-certs", "apiserver.crt");
    const apiServerUrl = `https://127.0.0.1:${apiServer}`;
    await waitFor(kubeApiserver, opts.readyTimeoutMs ?? 120_000, () =>
      existsSync(certFile) ? httpsGetOk(`${apiServerUrl}/readyz`, readFileSync(certFile), token) : false,
    );

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, adminKubeconfig(apiServerUrl, readFileSync(certFile), token), { mode: 0o600 });
    return {
      kubeconfigPath,
      apiServerUrl,
      workDir: dir,
      pids: { etcd: etcd.pid, kubeApiserver: kubeApiserver.pid },
      ports: { etcdClient, etcdPeer, apiServer },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function startEtcd(binary: string, dir: string, clientPort: number, peerPort: number): TiedProcess {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return spawnTied(
    "etcd",
    binary,
    [
      "--name=capo-testenv",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=capo-testenv=${peer}`,
      // Test data is thrown away: skipping fsync makes etcd (and so every API write) much faster.
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
    join(dir, "etcd.log"),
  );
}

function startKubeApiserver(
  binary: string,
  dir: string,
  p: { etcdClient: number; apiServer: number; token: string },
  auditLogPath: string | undefined,
): TiedProcess {
  // Service-account token signing keys; node:crypto makes them, so no openssl is needed.
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  writeFileSync(join(dir, "sa.pub"), publicKey);
  writeFileSync(join(dir, "sa.key"), privateKey, { mode: 0o600 });
  // Admin user by static bearer token; system:masters is bound to cluster-admin by the RBAC bootstrap policy.
  writeFileSync(join(dir, "tokens.csv"), `${p.token},capo-admin,capo-admin,"system:masters"\n`, { mode: 0o600 });
  return spawnTied(
    "kube-apiserver",
    binary,
    [
      `--etcd-servers=http://127.0.0.1:${p.etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${p.apiServer}`,
      // No --tls-cert-file: the apiserver writes a self-signed CA + serving cert (SAN 127.0.0.1) to --cert-dir,
      // which we then hand to clients as the CA.
      `--cert-dir=${join(dir, "apiserver-certs")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      `--service-account-issuer=https://127.0.0.1:${p.apiServer}`,
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      // No controller-manager creates the `default` ServiceAccount, so this plugin would reject every Pod.
      "--disable-admission-plugins=ServiceAccount",
      "--allow-privileged=true",
      "--profiling=false",
      ...(auditLogPath ? auditArgs(dir, auditLogPath) : []),
    ],
    join(dir, "kube-apiserver.log"),
  );
}

/**
 * Every request at Metadata level: a watch logs ResponseStarted when it begins and ResponseComplete when it ends, any
 * other request ResponseComplete only. Without size or backup limits the apiserver writes one plain file.
 */
function auditArgs(dir: string, logPath: string): string[] {
  const policy = join(dir, "audit-policy.yaml");
  writeFileSync(
    policy,
    stringify({ apiVersion: "audit.k8s.io/v1", kind: "Policy", omitStages: ["RequestReceived"], rules: [{ level: "Metadata" }] }),
  );
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${logPath}`, "--audit-log-format=json"];
}

function adminKubeconfig(server: string, caPem: Buffer, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "capo-testenv", cluster: { server, "certificate-authority-data": caPem.toString("base64") } }],
    users: [{ name: "capo-admin", user: { token } }],
    contexts: [
      { name: "capo-testenv", context: { cluster: "capo-testenv", user: "capo-admin", namespace: "default" } },
    ],
    "current-context": "capo-testenv",
  });
}

/** Polls `probe` until it is true; fails early (with the log tail) if the process exits. */
async function waitFor(proc: TiedProcess, timeoutMs: number, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) {
      const info = await proc.exited;
      const tail = proc.logTail();
      const why = info.error ? info.error.message : `exit code ${info.code ?? "-"}, signal ${info.signal ?? "-"}`;
      const message = `${proc.name} exited during startup (${why}); last log lines:\n${tail}`;
      throw /address already in use/i.test(tail) ? new PortTakenError(message) : new Error(message);
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} not ready after ${timeoutMs} ms; last log lines:\n${proc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function httpGetOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function httpsGetOk(url: string, ca: Buffer, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
