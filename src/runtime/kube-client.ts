import http from "node:http";
import https from "node:https";
import { text as readText } from "node:stream/consumers";
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { KubeApiError } from "./api-error.js";
import type { KubeAuth } from "./kube-auth.js";
import { resourcePath, type ResourceType } from "./resource.js";

/** Patch content types the apiserver understands; always sent explicitly. */
export const PatchType = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
} as const;
export type PatchKind = keyof typeof PatchType;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** One finished Kubernetes API call (status 0: no answer), for metrics. */
export interface KubeRequestEvent {
  method: string;
  status: number;
  seconds: number;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface PatchOptions {
  namespace?: string;
  subresource?: string;
  fieldManager?: string;
  force?: boolean;
}

/**
 * A small typed REST client for any resource type, authenticated from a kubeconfig (client-node's KubeConfig, or
 * the controller's light loader: see KubeAuth).
 *
 * Why not the generated client-node APIs: they choose the patch Content-Type themselves (the first of
 * json-patch/merge-patch/apply) unless a header middleware is passed per call, need a different class per
 * group, and make a fresh TLS agent (new handshake) per request. Here every call names its content type,
 * works on any ResourceType, and reuses one keep-alive agent.
 */
export class KubeClient {
  private agent: https.Agent | undefined;
  private agentFingerprint = "";
  private readonly server: URL;
  private readonly writeObservers: ((type: ResourceType, obj: KubernetesObject) => void)[] = [];

  constructor(
    readonly kubeConfig: KubeAuth,
    private readonly opts: { userAgent?: string; timeoutMs?: number; onRequest?: (e: KubeRequestEvent) => void } = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  /** URL, headers and agent of one request: auth applied, body encoded. */
  private async prepare(path: string, ro: RequestOptions) {
    const url = new URL(this.server.toString().replace(/\/$/, "") + path);
    for (const [k, v] of Object.entries(ro.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const tls: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(tls);
    const headers: Record<string, string> = { Accept: "application/json" };
    for (const [k, v] of Object.entries(tls.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (tls.auth) headers["Authorization"] = `Basic ${Buffer.from(tls.auth).toString("base64")}`;
    if (this.opts.userAgent) headers["User-Agent"] = this.opts.userAgent;
    let payload: string | undefined;
    if (ro.body !== undefined) {
      payload = typeof ro.body === "string" ? ro.body : JSON.stringify(ro.body);
      headers["Content-Type"] = ro.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const isHttps = url.protocol === "https:";
    const agent = isHttps ? this.agentFor(tls) : undefined;
    return { url, headers, payload, agent, isHttps };
  }

  async request<T>(method: string, path: string, ro: RequestOptions = {}): Promise<T> {
    const { url, headers, payload, agent, isHttps } = await this.prepare(path, ro);
    const started = performance.now();
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        url,
        { method, headers, agent, signal: ro.signal, timeout: this.opts.timeoutMs ?? 60_000 },
        (res) => {
          readText(res).then((body) => resolve({ status: res.statusCode ?? 0, text: body }), reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`request timed out: ${method} ${url.pathname}`)));
      req.on("error", reject);
      req.end(payload);
    });
    const seconds = (): number => (performance.now() - started) / 1000;
    const { status, text } = await answer.catch((e: unknown) => {
      this.opts.onRequest?.({ method, status: 0, seconds: seconds() });
      throw e;
    });
    this.opts.onRequest?.({ method, status, seconds: seconds() });
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
    let reason = "Unknown";
    let message = text.slice(0, 500);
    try {
      const st = JSON.parse(text) as { reason?: string; message?: string };
      reason = st.reason ?? reason;
      message = st.message ?? message;
    } catch {
      // non-JSON error body: keep the raw text
    }
    throw new KubeApiError(status, reason, message, method, url.pathname);
  }

  // One keep-alive agent, rebuilt only if the TLS material changes (e.g. an exec plugin rotated the cert).
  private agentFor(tls: https.RequestOptions): https.Agent {
    const fp = [tls.ca, tls.cert, tls.key, tls.pfx, tls.rejectUnauthorized, tls.servername].map(String).join("|");
    if (!this.agent || fp !== this.agentFingerprint) {
      this.agent?.destroy();
      this.agent = new https.Agent({
        keepAlive: true,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        pfx: tls.pfx,
        passphrase: tls.passphrase,
        servername: tls.servername,
        ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
      });
      this.agentFingerprint = fp;
    }
    return this.agent;
  }

  /** Calls fn with every object a create, replace or patch of this client returned (to recognise our own writes). */
  observeWrites(fn: (type: ResourceType, obj: KubernetesObject) => void): void {
    this.writeObservers.push(fn);
  }

  private async written<T extends KubernetesObject>(type: ResourceType, write: Promise<T>): Promise<T> {
    const obj = await write;
    for (const fn of this.writeObservers) fn(type, obj);
    return obj;
  }

  /**
   * A watch: a streaming GET whose lines (one JSON watch event each) go to onLine. `done` resolves when the server
   * ends the stream and rejects on failure (with statusCode for an HTTP error, e.g. 410 Gone).
   */
  async stream(path: string, query: RequestOptions["query"], onLine: (line: string) => void): Promise<{ abort(): void; done: Promise<void> }> {
    const ctrl = new AbortController();
    const { url, headers, agent, isHttps } = await this.prepare(path, { query, signal: ctrl.signal });
    const done = new Promise<void>((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, { method: "GET", headers, agent, signal: ctrl.signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          reject(Object.assign(new Error(`watch ${url.pathname}: HTTP ${status}`), { statusCode: status }));
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) onLine(line);
          }
        });
        res.on("end", () => resolve());
        res.on("error", (e) => (ctrl.signal.aborted ? resolve() : reject(e)));
      });
      req.on("error", (e) => (ctrl.signal.aborted ? resolve() : reject(e)));
      req.end();
    });
    return { abort: () => ctrl.abort(), done };
  }

  get<T extends KubernetesObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>("GET", resourcePath(type, { namespace, name }));
  }

  list<T extends KubernetesObject>(type: ResourceType, lo: ListOptions = {}): Promise<KubernetesListObject<T>> {
    return this.request<KubernetesListObject<T>>("GET", resourcePath(type, { namespace: lo.namespace }), {
      query: {
        labelSelector: lo.labelSelector,
        fieldSelector: lo.fieldSelector,
        resourceVersion: lo.resourceVersion,
        limit: lo.limit,
        continue: lo.continue,
      },
    });
  }

  create<T extends KubernetesObject>(type: ResourceType, obj: T, opts: { fieldManager?: string } = {}): Promise<T> {
    return this.written(
      type,
      this.request<T>("POST", resourcePath(type, { namespace: obj.metadata?.namespace }), {
        body: { apiVersion: obj.apiVersion, kind: obj.kind, ...obj },
        query: { fieldManager: opts.fieldManager },
      }),
    );
  }

  /** PUT of the whole object (or of its status with subresource "status"); 409 if resourceVersion is stale. */
  replace<T extends KubernetesObject>(type: ResourceType, obj: T, opts: { subresource?: string } = {}): Promise<T> {
    const name = obj.metadata?.name ?? "";
    return this.written(
      type,
      this.request<T>("PUT", resourcePath(type, { namespace: obj.metadata?.namespace, name, subresource: opts.subresource }), {
        body: obj,
      }),
    );
  }

  patch<T extends KubernetesObject>(
    type: ResourceType,
    name: string,
    patch: unknown,
    kind: PatchKind,
    po: PatchOptions = {},
  ): Promise<T> {
    return this.written(
      type,
      this.request<T>("PATCH", resourcePath(type, { namespace: po.namespace, name, subresource: po.subresource }), {
        body: patch,
        contentType: PatchType[kind],
        query: { fieldManager: po.fieldManager, force: po.force },
      }),
    );
  }

  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: "Foreground" | "Background" | "Orphan"; uid?: string } = {},
  ): Promise<void> {
    const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
    if (opts.propagationPolicy) body["propagationPolicy"] = opts.propagationPolicy;
    if (opts.uid) body["preconditions"] = { uid: opts.uid };
    await this.request("DELETE", resourcePath(type, { namespace, name }), { body });
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
