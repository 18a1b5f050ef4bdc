import type { ResolvedCloud } from "../clouds/types.js";
import { catalogRegions, findEndpoint, versionedBase, type CatalogService, type ServiceType } from "./catalog.js";
import { parseErrorBody } from "./error-body.js";
import { ConnectionError, EndpointNotFoundError, errorForStatus, isRetryable, type OpenStackError } from "./errors.js";
import { acquireConnectionPool, type Lease } from "./connection-pools.js";
import { sendOnce, type RawResponse } from "./http.js";
import { authRequestBody, identityV3FromVersions, secretsOf } from "./keystone.js";
import { maxComputeMicroversion, pickComputeMicroversion } from "./microversion.js";
import { templateOf, type RequestPath } from "./path-template.js";
import { Redactor } from "./redact.js";
import {
  backoffDelayMs,
  isIdempotent,
  parseRetryAfter,
  withRetryDefaults,
  type ResolvedRetryOptions,
  type RetryOptions,
} from "./retry.js";
import { credentialKey, refreshTime, tokenCache, type TokenState } from "./token-cache.js";

/** One finished HTTP exchange, for metrics and benchmarks. `status` is 0 when no response came. */
export interface RequestEvent {
  service: string;
  method: string;
  /** Path below the service's versioned base, ids replaced by {id}. */
  path: string;
  status: number;
  latencyMs: number;
  /** 0 for the first try, 1.. for retries and the re-authenticated resend. */
  attempt: number;
}
export type RequestHook = (e: RequestEvent) => void;

export interface SessionOptions {
  userAgent?: string;
  onRequest?: RequestHook;
  retry?: RetryOptions;
}

export type QueryValue = string | number | boolean | string[] | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Nova microversion for this call (default: the negotiated one). */
  microversion?: string;
}

export interface ApiResponse<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function buildQuery(q: Query | undefined): string {
  if (!q) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(item))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function parseBody(res: RawResponse): unknown {
  const t = res.text;
  if (t.trim() === "") return undefined;
  if (/json/i.test(res.headers["content-type"] ?? "") || /^\s*[[{]/.test(t)) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  }
  return t;
}

const identityDiscovery = new Map<string, Promise<string>>();

/**
 * An authenticated connection to one cloud: Keystone token (shared cache), service catalog, keep-alive transport
 * with retries, typed errors. Service clients (compute(), network(), ...) are thin layers over `request`.
 */
export class OpenStackSession {
  readonly cloud: ResolvedCloud;
  private readonly retry: ResolvedRetryOptions;
  private readonly lease: Lease;
  private readonly redactor = new Redactor();
  private readonly key: string;
  private readonly userAgent: string;
  private readonly onRequest: RequestHook | undefined;
  private computeVersion: Promise<unknown> | undefined;

  constructor(cloud: ResolvedCloud, opts: SessionOptions = {}) {
    this.cloud = cloud;
    this.retry = withRetryDefaults(opts.retry);
    this.lease = acquireConnectionPool({ verify: cloud.verify, cacertPem: cloud.cacertPem }, this.retry.connectTimeoutMs);
    this.redactor.add(...secretsOf(cloud.auth));
    this.key = credentialKey(cloud);
    this.userAgent = opts.userAgent ?? "capo-ts";
    this.onRequest = opts.onRequest;
  }

  /** Text with every known secret (password, token, application credential secret) replaced by ***. */
  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** Releases this session's share of the connection pool (closed when its last session goes); the token stays cached. */
  async close(): Promise<void> {
    await this.lease.release();
  }

  /** A valid token with its catalog: from the shared cache, or freshly issued. */
  async token(): Promise<TokenState> {
    const t = await tokenCache.get(this.key, () => this.authenticate());
    this.redactor.add(t.token);
    return t;
  }

  /** The project the token is scoped to. */
  async projectId(): Promise<string | undefined> {
    return (await this.token()).projectId;
  }

  /** The versioned base URL of a service (endpoint override, else the catalog entry for interface and region). */
  async endpoint(service: ServiceType): Promise<string> {
    const tok = await this.token();
    return this.endpointFrom(service, tok);
  }

  /** Whether the catalog (or an override) has an endpoint for an optional service such as Octavia or Cinder. */
  async hasEndpoint(service: ServiceType): Promise<boolean> {
    try {
      await this.endpoint(service);
      return true;
    } catch (e) {
      if (e instanceof EndpointNotFoundError) return false;
      throw e;
    }
  }

  private endpointFrom(service: ServiceType, tok: TokenState): string {
    const override = this.cloud.endpointOverrides?.[service];
    const url = override ?? findEndpoint(tok.catalog, service, this.cloud.interface, this.cloud.regionName);
    if (!url) {
      const regions = catalogRegions(tok.catalog).join(", ") || "(none)";
      throw new EndpointNotFoundError(
        `no ${this.cloud.interface} endpoint for service ${service}` +
          (this.cloud.regionName ? ` in region ${this.cloud.regionName}` : "") +
          ` in the catalog of cloud "${this.cloud.name}" (regions: ${regions}); check region_name and interface`,
        { status: 0, service, method: "", path: "" },
      );
    }
    return versionedBase(service, url, tok.projectId);
  }

  /** The Nova microversion used when a call names none: 2.60, or the cloud's maximum if lower. */
  async computeMicroversion(): Promise<string | undefined> {
    return pickComputeMicroversion(await this.computeVersionDocument());
  }

  /** The newest Nova microversion the cloud supports (for calls whose body changed in a later one). */
  async computeMaxMicroversion(): Promise<string | undefined> {
    return maxComputeMicroversion(await this.computeVersionDocument());
  }

  private computeVersionDocument(): Promise<unknown> {
    if (!this.computeVersion) {
      this.computeVersion = this.request<unknown>("compute", "GET", { path: "/", template: "/" }, { microversion: "" })
        .then((r) => r.body)
        .catch((e: unknown) => {
          this.computeVersion = undefined;
          throw e;
        });
    }
    return this.computeVersion;
  }

  private async discoverIdentity(): Promise<string> {
    const authUrl = this.cloud.auth.authUrl.replace(/\/+$/, "");
    if (/\/v3$/.test(new URL(authUrl).pathname)) return authUrl;
    let p = identityDiscovery.get(authUrl);
    if (!p) {
      p = this.send("identity", "GET", authUrl, templateOf(new URL(authUrl).pathname), {}, undefined)
        .then((res) => identityV3FromVersions(parseBody(res)) ?? `${authUrl}/v3`)
        .catch(() => `${authUrl}/v3`);
      identityDiscovery.set(authUrl, p);
    }
    return p;
  }

  private async authenticate(): Promise<TokenState> {
    const identityUrl = await this.discoverIdentity();
    const url = `${identityUrl}/auth/tokens`;
    const body = JSON.stringify(authRequestBody(this.cloud.auth));
    // Issuing a token has no side effect worth guarding, so failed attempts are retried like idempotent calls.
    const res = await this.send("identity", "POST", url, "/auth/tokens", { "Content-Type": "application/json" }, body, true);
    if (res.status >= 400) {
      const e = this.toError("identity", "POST", "/auth/tokens", res);
      e.message = this.redact(
        `authentication for cloud "${this.cloud.name}" at ${identityUrl} failed (HTTP ${res.status}): ${e.message}`,
      );
      throw e;
    }
    const token = res.headers["x-subject-token"];
    const data = parseBody(res) as
      | { token?: { expires_at?: string; catalog?: CatalogService[]; project?: { id?: string }; user?: { id?: string } } }
      | undefined;
    if (!token || !data?.token) {
      throw new ConnectionError(`Keystone at ${identityUrl} answered ${res.status} without a token`, {
        status: res.status,
        service: "identity",
        method: "POST",
        path: "/auth/tokens",
      });
    }
    this.redactor.add(token);
    const now = Date.now();
    const expiresAt = data.token.expires_at ? Date.parse(data.token.expires_at) : now + 3_600_000;
    const state: TokenState = {
      token,
      expiresAt,
      refreshAt: refreshTime(now, expiresAt),
      catalog: data.token.catalog ?? [],
      identityUrl,
    };
    if (data.token.project?.id) state.projectId = data.token.project.id;
    if (data.token.user?.id) state.userId = data.token.user.id;
    return state;
  }

  private toError(service: string, method: string, template: string, res: RawResponse): OpenStackError {
    const parsed = parseErrorBody(res.text, res.headers["content-type"]);
    const requestId = res.headers["x-openstack-request-id"] ?? res.headers["x-compute-request-id"];
    const retryAfterMs = parseRetryAfter(res.headers["retry-after"]);
    return errorForStatus(this.redact(parsed.message), {
      status: res.status,
      service,
      method,
      path: template,
      ...(requestId ? { requestId } : {}),
      ...(parsed.code ? { code: parsed.code } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }

  /**
   * Sends with retries: connection errors, timeouts, 5xx, 429 and transient 409s are retried with backoff for
   * idempotent methods (or when `retryable` says the call is safe to repeat). Returns error responses as they are.
   */
  private async send(
    service: string,
    method: string,
    url: string,
    template: string,
    headers: Record<string, string>,
    body: string | undefined,
    retryable = isIdempotent(method),
    attempts = { n: 0 },
  ): Promise<RawResponse> {
    for (let retry = 0; ; retry++) {
      const started = performance.now();
      const attempt = attempts.n++;
      let res: RawResponse;
      try {
        res = await sendOnce(
          this.lease.pool,
          { method, url, headers: { Accept: "application/json", "User-Agent": this.userAgent, ...headers }, body },
          this.retry.timeoutMs,
        );
      } catch (e) {
        this.emit(service, method, template, 0, started, attempt);
        const err = new ConnectionError(this.redact(`${method} ${new URL(url).origin}${template} failed: ${describeNetworkError(e, this.retry.timeoutMs)}`), {
          status: 0,
          service,
          method,
          path: template,
        });
        if (retryable && retry < this.retry.maxRetries) {
          await sleep(backoffDelayMs(retry + 1, this.retry));
          continue;
        }
        throw err;
      }
      this.emit(service, method, template, res.status, started, attempt);
      if (res.status >= 400 && res.status !== 401 && retryable && retry < this.retry.maxRetries) {
        const err = this.toError(service, method, template, res);
        if (isRetryable(err)) {
          await sleep(backoffDelayMs(retry + 1, this.retry, err.retryAfterMs));
          continue;
        }
      }
      return res;
    }
  }

  private emit(service: string, method: string, path: string, status: number, started: number, attempt: number): void {
    if (!this.onRequest) return;
    try {
      this.onRequest({ service, method, path, status, latencyMs: performance.now() - started, attempt });
    } catch {
      // a broken metrics hook must not break the call
    }
  }

  /**
   * One API call. `path` is relative to the service's versioned base (build it with ospath`...` so metrics see
   * a template). Non-2xx answers throw typed errors; a 401 triggers exactly one re-authentication and resend.
   */
  async request<T>(
    service: ServiceType,
    method: string,
    path: RequestPath | string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const p = typeof path === "string" ? { path, template: templateOf(path) } : path;
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    if (service === "compute") {
      const mv = opts.microversion ?? (await this.computeMicroversion());
      if (mv) {
        headers["OpenStack-API-Version"] = `compute ${mv}`;
        headers["X-OpenStack-Nova-API-Version"] = mv;
      }
    }
    const attempts = { n: 0 };
    for (let reauthenticated = false; ; reauthenticated = true) {
      const tok = await this.token();
      const url = this.endpointFrom(service, tok) + p.path + buildQuery(opts.query);
      const res = await this.send(service, method.toUpperCase(), url, p.template, { ...headers, "X-Auth-Token": tok.token }, body, undefined, attempts);
      if (res.status === 401 && !reauthenticated) {
        // The token was revoked or expired early: one fresh token, one resend (the request was not processed).
        await tokenCache.invalidate(this.key, tok.token);
        continue;
      }
      if (res.status >= 400) throw this.toError(service, method.toUpperCase(), p.template, res);
      return { status: res.status, headers: res.headers, body: parseBody(res) as T };
    }
  }
}

function describeNetworkError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    const cause = (e as { cause?: unknown }).cause;
    const causeMsg = cause instanceof Error ? `: ${cause.message}` : "";
    return `${code ? `${code} ` : ""}${e.message}${causeMsg}`;
  }
  return String(e);
}

export function createSession(cloud: ResolvedCloud, opts: SessionOptions = {}): OpenStackSession {
  return new OpenStackSession(cloud, opts);
}
