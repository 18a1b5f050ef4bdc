import { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError } from "../runtime/api-error.js";
import { KubeClient } from "../runtime/kube-client.js";
import type { ResourceType } from "../runtime/resource.js";
import { UserError, errorMessage } from "../util/errors.js";

/** A connection to the management cluster as the CLI commands use it. */
export interface KubeTarget {
  kubeConfig: KubeConfig;
  client: KubeClient;
  /** The API server URL, for messages. */
  server: string;
  /** The current context's namespace, or "default". */
  defaultNamespace: string;
}

/**
 * Loads a kubeconfig: the file given, else $KUBECONFIG / ~/.kube/config / in-cluster (client-node's default order).
 * Fails with a UserError naming the flag when there is none or it has no current cluster.
 */
export function loadKubeTarget(path?: string): KubeTarget {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    throw new UserError(`--kubeconfig ${path ?? "(default)"}: cannot load the kubeconfig (${errorMessage(e)})`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new UserError(
      `--kubeconfig ${path ?? "(default: $KUBECONFIG or ~/.kube/config)"}: no current cluster; ` +
        "pass --kubeconfig FILE or set a current-context (kubectl config use-context NAME)",
    );
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return {
    kubeConfig: kc,
    client: new KubeClient(kc, { userAgent: "capo-cli", timeoutMs: 30_000 }),
    server: cluster.server,
    defaultNamespace: ctx?.namespace || "default",
  };
}

/**
 * Turns a failed Kubernetes call into a message a user can act on: unreachable cluster, rejected credentials and
 * missing permissions each say so; other API errors keep the apiserver's message. `doing` describes the step.
 */
export function kubeFailure(e: unknown, target: Pick<KubeTarget, "server">, doing: string): Error {
  if (e instanceof UserError) return e;
  if (e instanceof KubeApiError) {
    if (e.statusCode === 401) {
      return new UserError(`${doing}: the Kubernetes API at ${target.server} rejected the kubeconfig's credentials (401); refresh them or pass another --kubeconfig`);
    }
    if (e.statusCode === 403) {
      return new UserError(`${doing}: permission denied (403): ${plainMessage(e)}; use a kubeconfig with the rights needed (capo init needs cluster-admin)`);
    }
    return new UserError(`${doing}: ${e.statusCode} ${e.reason}: ${plainMessage(e)}`);
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  const msg = errorMessage(e);
  const network = typeof code === "string" && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(code);
  if (network || /timed out|ECONNREFUSED|socket hang up/.test(msg)) {
    return new UserError(
      `${doing}: cannot reach the Kubernetes API at ${target.server} (${msg}); is the cluster running and is --kubeconfig right?`,
    );
  }
  if (/certificate|self[- ]signed|CERT_|unable to verify/i.test(msg)) {
    return new UserError(`${doing}: TLS to ${target.server} failed (${msg}); check the kubeconfig's certificate-authority-data`);
  }
  return e instanceof Error ? e : new Error(msg);
}

/** The apiserver's own message, without the "METHOD path: status reason:" prefix KubeApiError adds. */
function plainMessage(e: KubeApiError): string {
  const prefix = `${e.method} ${e.path}: ${e.statusCode} ${e.reason}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

export const isNotFoundError = (e: unknown): boolean => e instanceof KubeApiError && e.statusCode === 404;

/** An APIResourceList entry, as discovery returns it. */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * Finds the REST resource of apiVersion/kind through discovery (cached per group version), so any manifest can be
 * applied without a table of kinds. Returns undefined when the API server does not serve that kind.
 */
export class Discovery {
  private readonly cache = new Map<string, Promise<ApiResource[] | undefined>>();

  constructor(private readonly client: KubeClient) {}

  async resourceFor(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const resources = await this.groupVersion(apiVersion);
    const r = resources?.find((x) => x.kind === kind && !x.name.includes("/"));
    if (!r) return undefined;
    const slash = apiVersion.indexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    return { group, version, plural: r.name, kind, namespaced: r.namespaced };
  }

  /** Forgets what was learned, e.g. after CRDs were installed. */
  reset(): void {
    this.cache.clear();
  }

  private groupVersion(apiVersion: string): Promise<ApiResource[] | undefined> {
    let p = this.cache.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.client
        .request<{ resources?: ApiResource[] }>("GET", path)
        .then((l) => l.resources ?? [])
        .catch((e: unknown) => {
          if (isNotFoundError(e)) return undefined;
          this.cache.delete(apiVersion);
          throw e;
        });
      this.cache.set(apiVersion, p);
    }
    return p;
  }
}
