import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { SimContext } from "./context.js";
import { cinderError, glanceError, keystoneError, neutronError, novaError, octaviaError, serviceError, unauthorized } from "./errors.js";
import type { AuthContext, Router, ServiceName, SimRequest, SimResponse } from "./http.js";
import { ApiError } from "./http.js";
import { validateToken } from "./keystone.js";
import { NOVA_MIN, type Microversion } from "./nova-versions.js";
import { CINDER_MAX } from "./blockstorage.js";
import { versionDocument } from "./versions.js";

/** The HTTP layer: path prefix -> service, request counting, faults, auth, microversions, JSON in and out. */

export interface ServiceMount {
  service: ServiceName;
  /** First path segment, e.g. "compute". */
  prefix: string;
  /** Versioned roots below the prefix that the router's templates are relative to. */
  roots: string[];
  router: Router;
  auth: boolean;
}

export interface RequestCount {
  service: ServiceName;
  method: string;
  path: string;
  count: number;
}

const MAX_BODY = 2 * 1024 * 1024;
const MAX_DRAIN = 64 * 1024 * 1024;

export class RequestStats {
  private readonly counts = new Map<string, RequestCount>();
  total = 0;

  add(service: ServiceName, method: string, path: string): void {
    this.total += 1;
    const key = `${service} ${method} ${path}`;
    const c = this.counts.get(key);
    if (c) c.count += 1;
    else this.counts.set(key, { service, method, path, count: 1 });
  }

  list(): RequestCount[] {
    return [...this.counts.values()].sort((a, b) => b.count - a.count);
  }

  reset(): void {
    this.counts.clear();
    this.total = 0;
  }
}

function malformed(service: ServiceName): ApiError {
  switch (service) {
    case "compute":
      return novaError(400, "Malformed request body");
    case "block-storage":
      return cinderError(400, "Malformed request body");
    case "network":
      return neutronError(400, "HTTPBadRequest", "Malformed JSON in request body.");
    case "image":
      return glanceError(400, "Malformed JSON in request body.");
    case "load-balancer":
      return octaviaError(400, "Malformed JSON in request body.");
    case "identity":
      return keystoneError(400, "Malformed request body.");
    default:
      return new ApiError(400, { error: { code: 400, message: "Malformed JSON in request body." } });
  }
}

function notFound(service: ServiceName): ApiError {
  if (service === "network") return neutronError(404, "HTTPNotFound", "The resource could not be found.");
  return serviceError(service, 404, "The resource could not be found.");
}

function methodNotAllowed(service: ServiceName): ApiError {
  if (service === "network") return neutronError(405, "HTTPMethodNotAllowed", "The method is not allowed for the requested URL.");
  return serviceError(service, 405, "The method is not allowed for the requested URL.");
}

/** Parses "compute 2.90" / "2.90" / "latest" into a microversion, or throws the service's 400/406. */
function negotiate(service: ServiceName, req: IncomingMessage, novaMax: Microversion): [number, number] {
  const isNova = service === "compute";
  const name = isNova ? "compute" : "volume";
  const min = isNova ? NOVA_MIN : ([3, 0] as const);
  const max = isNova ? novaMax : CINDER_MAX;
  let raw: string | undefined;
  const generic = req.headers["openstack-api-version"];
  if (typeof generic === "string") {
    for (const part of generic.split(",")) {
      const [svc, ver] = part.trim().split(/\s+/);
      if (svc?.toLowerCase() === name && ver) raw = ver;
    }
  }
  if (raw === undefined) {
    const legacy = isNova ? req.headers["x-openstack-nova-api-version"] : undefined;
    if (typeof legacy === "string") raw = legacy.trim();
  }
  if (raw === undefined) return [min[0], min[1]];
  if (raw.toLowerCase() === "latest") return [max[0], max[1]];
  const m = /^(\d+)\.(\d+)$/.exec(raw);
  const err = isNova ? novaError : cinderError;
  if (!m) throw err(400, `API Version String ${raw} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const v: [number, number] = [Number(m[1]), Number(m[2])];
  const cmp = (a: readonly number[], b: readonly number[]) => ((a[0] as number) - (b[0] as number)) || ((a[1] as number) - (b[1] as number));
  if (cmp(v, min) < 0 || cmp(v, max) > 0) {
    throw err(406, `Version ${raw} is not supported by the API. Minimum is ${min[0]}.${min[1]} and maximum is ${max[0]}.${max[1]}.`, {
      ...(isNova ? { "openstack-api-version": `compute ${raw}`, "x-openstack-nova-api-version": raw } : { "openstack-api-version": `volume ${raw}` }),
    });
  }
  return v;
}

/** Reads the body; an oversized one is drained (so the keep-alive connection stays usable) and reported. */
async function readBody(req: IncomingMessage): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_DRAIN) {
      req.socket.destroy();
      return "too-large";
    }
    if (size <= MAX_BODY) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY ? "too-large" : Buffer.concat(chunks);
}

export interface PipelineDeps {
  ctx: SimContext;
  mounts: ServiceMount[];
  admin: Router;
  stats: RequestStats;
  onMutation: () => void;
}

function send(res: ServerResponse, method: string, r: SimResponse, extraHeaders: Record<string, string>): void {
  const headers: Record<string, string> = { ...extraHeaders, ...(r.headers ?? {}) };
  let payload: string | undefined;
  if (r.status !== 204 && r.body !== undefined) {
    payload = JSON.stringify(r.body);
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  } else {
    headers["content-length"] = "0";
  }
  res.writeHead(r.status, headers);
  res.end(method === "HEAD" ? undefined : payload);
}

export async function handleRequest(deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { ctx, stats } = deps;
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "http://sim.invalid");
  const pathname = url.pathname.replace(/\/{2,}/g, "/");
  const requestId = `req-${randomUUID()}`;
  const baseHeaders: Record<string, string> = { "x-openstack-request-id": requestId };
  const segs = pathname.split("/").filter(Boolean);
  const first = segs[0] ?? "";
  let service: ServiceName = "admin";
  try {
    if (first === "_sim") {
      const sub = `/${segs.slice(1).join("/")}`;
      const m = deps.admin.match(method, sub);
      stats.add("admin", method, m.kind === "found" ? m.template : "<unmatched>");
      if (m.kind !== "found") throw new ApiError(m.kind === "none" ? 404 : 405, { error: { code: 404, message: `no admin route ${method} ${sub}` } });
      const raw = await readBody(req);
      let body: unknown;
      if (raw === "too-large") throw new ApiError(413, { error: { code: 413, message: "body too large" } });
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          throw new ApiError(400, { error: { code: 400, message: "malformed JSON body" } });
        }
      }
      const out = await m.handler(simRequest("admin", method, sub, url, req, m.params, body, m.template, "", ANON, [0, 0]));
      send(res, method, out, baseHeaders);
      if (method !== "GET") deps.onMutation();
      return;
    }
    // A service the profile leaves out has no endpoint at all, as on a cloud that never installed it.
    const mount = deps.mounts.find((x) => x.prefix === first && ctx.world.hasService(x.service));
    if (!mount) {
      stats.add("admin", method, "<unknown-service>");
      send(res, method, { status: 404, body: { error: { code: 404, message: `no service at /${first}` } } }, baseHeaders);
      return;
    }
    service = mount.service;
    const rest = pathname.slice(first.length + 1);
    const versionDoc = method === "GET" || method === "HEAD" ? versionDocument(ctx, mount.prefix, rest) : undefined;
    const root = mount.roots.find((rt) => rest === rt || rest.startsWith(`${rt}/`));
    const sub = root ? rest.slice(root.length) || "/" : rest;
    const match = versionDoc ? undefined : root ? mount.router.match(method, sub) : undefined;
    const template = versionDoc ? rest || "/" : match?.kind === "found" || match?.kind === "method-not-allowed" ? match.template : "<unmatched>";
    stats.add(service, method, template);

    const latency = deps.ctx.faults.latencyFor(service);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const fault = deps.ctx.faults.pick(service, method, sub);
    if (fault) {
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      const status = Number(fault.kind);
      const retry = fault.retryAfterSeconds ?? 1;
      const msg = status === 429 ? "Rate limit exceeded, retry later." : status === 503 ? "Service Unavailable" : "An unexpected error prevented the server from fulfilling your request.";
      throw serviceError(service, status, msg, status === 429 || status === 503 ? { "retry-after": String(retry) } : {});
    }
    if (versionDoc) {
      send(res, method, versionDoc, baseHeaders);
      return;
    }
    if (!root || !match || match.kind === "none") throw notFound(service);
    if (match.kind === "method-not-allowed") throw methodNotAllowed(service);

    let auth: AuthContext = ANON;
    if (mount.auth) {
      const h = req.headers["x-auth-token"];
      const t = validateToken(ctx.world, typeof h === "string" ? h : undefined);
      if (!t) throw unauthorized(ctx.authUrl);
      auth = { tokenId: t.id, userId: t.userId, projectId: t.projectId };
    }
    let microversion: [number, number] = [0, 0];
    if (service === "compute" || service === "block-storage") {
      microversion = negotiate(service, req, ctx.world.novaMaxMicroversion);
      const v = `${microversion[0]}.${microversion[1]}`;
      if (service === "compute") {
        Object.assign(baseHeaders, { "openstack-api-version": `compute ${v}`, "x-openstack-nova-api-version": v, vary: "OpenStack-API-Version, X-OpenStack-Nova-API-Version", "x-compute-request-id": requestId });
      } else {
        Object.assign(baseHeaders, { "openstack-api-version": `volume ${v}`, vary: "OpenStack-API-Version" });
      }
    }
    const raw = await readBody(req);
    if (raw === "too-large") throw serviceError(service, 413, "Request is too large.");
    let body: unknown;
    if (raw.length && method !== "GET" && method !== "DELETE" && method !== "HEAD") {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw malformed(service);
      }
    }
    ctx.world.advance();
    const serviceUrl = `${ctx.url}/${first}${root}`;
    const out = await match.handler(simRequest(service, method, sub, url, req, match.params, body, match.template, serviceUrl, auth, microversion));
    if (service === "compute" && out.status >= 400) out.headers = { "content-type": "application/json; charset=UTF-8", ...(out.headers ?? {}) };
    send(res, method, out, baseHeaders);
    if (method !== "GET" && method !== "HEAD") deps.onMutation();
  } catch (e) {
    if (res.headersSent || res.destroyed) return;
    if (e instanceof ApiError) {
      const headers = service === "compute" ? { ...baseHeaders, "content-type": "application/json; charset=UTF-8" } : baseHeaders;
      send(res, method, { status: e.status, body: e.body, headers: e.headers }, headers);
      return;
    }
    process.stderr.write(`capo sim: internal error on ${method} ${pathname}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    const err = serviceError(service, 500, "An unexpected error prevented the server from fulfilling your request.");
    send(res, method, { status: 500, body: err.body }, baseHeaders);
  }
}

const ANON: AuthContext = { tokenId: "", userId: "", projectId: "" };

function simRequest(
  service: ServiceName,
  method: string,
  path: string,
  url: URL,
  req: IncomingMessage,
  params: Record<string, string>,
  body: unknown,
  template: string,
  serviceUrl: string,
  auth: AuthContext,
  microversion: [number, number],
): SimRequest {
  return {
    method,
    path,
    query: url.searchParams,
    headers: req.headers,
    params,
    body,
    service,
    template,
    serviceUrl,
    rawPath: url.pathname + url.search,
    auth,
    microversion,
  };
}
