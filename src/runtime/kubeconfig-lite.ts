import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import type { KubeAuth } from "./kube-auth.js";

/**
 * Loads a kubeconfig (or the in-cluster service account) for the controller without client-node's KubeConfig, whose
 * module loads every generated API model. Covers what a controller's kubeconfig holds: server, CA, client
 * certificate, bearer token or token file, basic auth, insecure-skip-tls-verify, tls-server-name. A user entry
 * with an exec plugin or an auth provider is handed to client-node's KubeConfig, loaded only then.
 *
 * Order without a path: $KUBECONFIG (first file that exists), the in-cluster service account, ~/.kube/config.
 */
export async function loadKubeAuth(path?: string): Promise<KubeAuth> {
  const file = path ?? defaultKubeconfigPath();
  if (file) return fromFile(file);
  const inCluster = fromServiceAccount();
  if (inCluster) return inCluster;
  throw new Error("no kubeconfig: set KUBECONFIG or pass a file, or run in a pod with a service account");
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

function defaultKubeconfigPath(): string | undefined {
  const env = process.env["KUBECONFIG"];
  if (env) return env.split(delimiter).find((p) => p && existsSync(p));
  if (process.env["KUBERNETES_SERVICE_HOST"] && existsSync(join(SERVICE_ACCOUNT_DIR, "token"))) return undefined;
  const home = join(homedir(), ".kube", "config");
  return existsSync(home) ? home : undefined;
}

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}
interface ClusterEntry {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}
interface UserEntry {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  "auth-provider"?: unknown;
}
interface KubeconfigFile {
  "current-context"?: string;
  contexts?: (NamedEntry<unknown> & { context?: { cluster?: string; user?: string } })[];
  clusters?: (NamedEntry<unknown> & { cluster?: ClusterEntry })[];
  users?: (NamedEntry<unknown> & { user?: UserEntry })[];
}

async function fromFile(file: string): Promise<KubeAuth> {
  const doc = (parse(readFileSync(file, "utf8")) ?? {}) as KubeconfigFile;
  const ctx = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`${file}: the current context names no cluster with a server`);
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  if (user.exec !== undefined || user["auth-provider"] !== undefined) return viaClientNode(file);
  const base = dirname(resolve(file));
  const read = (p: string | undefined, data: string | undefined): Buffer | undefined =>
    data ? Buffer.from(data, "base64") : p ? readFileSync(isAbsolute(p) ? p : join(base, p)) : undefined;
  return staticAuth(cluster.server, {
    ca: read(cluster["certificate-authority"], cluster["certificate-authority-data"]),
    cert: read(user["client-certificate"], user["client-certificate-data"]),
    key: read(user["client-key"], user["client-key-data"]),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    serverName: cluster["tls-server-name"],
    token: user.token,
    tokenFile: user.tokenFile ? (isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)) : undefined,
    basic: user.username !== undefined ? `${user.username}:${user.password ?? ""}` : undefined,
  });
}

function fromServiceAccount(): KubeAuth | undefined {
  const host = process.env["KUBERNETES_SERVICE_HOST"];
  const port = process.env["KUBERNETES_SERVICE_PORT"] ?? "443";
  if (!host) return undefined;
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return staticAuth(server, { ca: readFileSync(join(SERVICE_ACCOUNT_DIR, "ca.crt")), tokenFile: join(SERVICE_ACCOUNT_DIR, "token") });
}

interface StaticAuth {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  serverName?: string;
  token?: string;
  tokenFile?: string;
  basic?: string;
}

/** Projected service-account tokens rotate: the file is read again after this long. */
const TOKEN_FILE_REREAD_MS = 60_000;

function staticAuth(server: string, a: StaticAuth): KubeAuth {
  let fileToken: { value: string; readAt: number } | undefined;
  const bearer = (): string | undefined => {
    if (a.token) return a.token;
    if (!a.tokenFile) return undefined;
    if (!fileToken || Date.now() - fileToken.readAt > TOKEN_FILE_REREAD_MS) {
      fileToken = { value: readFileSync(a.tokenFile, "utf8").trim(), readAt: Date.now() };
    }
    return fileToken.value;
  };
  return {
    getCurrentCluster: () => ({ server }),
    applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
      if (a.ca) opts.ca = a.ca;
      if (a.cert) opts.cert = a.cert;
      if (a.key) opts.key = a.key;
      if (a.insecure) opts.rejectUnauthorized = false;
      if (a.serverName) opts.servername = a.serverName;
      const token = bearer();
      const headers = { ...(opts.headers as Record<string, string> | undefined) };
      if (token) headers["Authorization"] = `Bearer ${token}`;
      opts.headers = headers;
      if (a.basic && !token) opts.auth = a.basic;
      return Promise.resolve();
    },
  };
}

/** Exec plugins and auth providers: client-node implements them; its module is loaded for these kubeconfigs only. */
async function viaClientNode(file: string): Promise<KubeAuth> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc as unknown as KubeAuth;
}
