import type { IncomingHttpHeaders } from "node:http";

/** The simulated services, named as the request counters and fault rules name them. */
export type ServiceName = "identity" | "compute" | "network" | "image" | "load-balancer" | "block-storage" | "admin";

export const SERVICE_NAMES: readonly ServiceName[] = [
  "identity",
  "compute",
  "network",
  "image",
  "load-balancer",
  "block-storage",
  "admin",
];

/** Who is calling, resolved from X-Auth-Token. */
export interface AuthContext {
  tokenId: string;
  userId: string;
  projectId: string;
}

export interface SimRequest {
  method: string;
  /** Path below the service's versioned prefix, e.g. "/servers/abc". */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
  body: unknown;
  service: ServiceName;
  /** The route template, e.g. "/servers/{id}", for request counting. */
  template: string;
  /** Absolute URL of the service's versioned root, e.g. http://127.0.0.1:PORT/compute/v2.1 */
  serviceUrl: string;
  /** The full original request path and query, for pagination links. */
  rawPath: string;
  auth: AuthContext;
  /** Nova/Cinder microversion as [major, minor]; [0,0] for unversioned services. */
  microversion: [number, number];
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A response that ends the request early; thrown by handlers and rendered as is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export type Handler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

interface Route {
  method: string;
  template: string;
  segments: string[];
  handler: Handler;
}

export type RouteMatch =
  | { kind: "found"; handler: Handler; template: string; params: Record<string, string> }
  | { kind: "method-not-allowed"; template: string }
  | { kind: "none" };

/** A tiny segment router: "{name}" segments capture one path segment each. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    this.routes.push({ method, template, segments: splitPath(template), handler });
    return this;
  }

  get(t: string, h: Handler): this {
    return this.add("GET", t, h);
  }
  post(t: string, h: Handler): this {
    return this.add("POST", t, h);
  }
  put(t: string, h: Handler): this {
    return this.add("PUT", t, h);
  }
  patch(t: string, h: Handler): this {
    return this.add("PATCH", t, h);
  }
  delete(t: string, h: Handler): this {
    return this.add("DELETE", t, h);
  }

  match(method: string, path: string): RouteMatch {
    const segs = splitPath(path);
    let wrongMethod: string | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segs);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) {
        return { kind: "found", handler: route.handler, template: route.template, params };
      }
      wrongMethod ??= route.template;
    }
    return wrongMethod ? { kind: "method-not-allowed", template: wrongMethod } : { kind: "none" };
  }
}

function splitPath(p: string): string[] {
  return p.split("/").filter((s) => s.length > 0);
}

function matchSegments(tpl: string[], segs: string[]): Record<string, string> | undefined {
  if (tpl.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < tpl.length; i++) {
    const t = tpl[i] as string;
    const s = segs[i] as string;
    if (t.startsWith("{") && t.endsWith("}")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(s);
      } catch {
        decoded = s;
      }
      params[t.slice(1, -1)] = decoded;
    } else if (t !== s) {
      return undefined;
    }
  }
  return params;
}

/** Reads a JSON object body member, or undefined. */
export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Nova/Octavia style timestamps without zone. */
export function nowNaive(withMicros = false): string {
  const s = new Date().toISOString();
  return withMicros ? s.replace(/\.(\d{3})Z$/, ".$1000") : s.replace(/\.\d{3}Z$/, "");
}
