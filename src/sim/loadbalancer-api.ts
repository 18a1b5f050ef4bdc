import type { SimContext } from "./context.js";
import { octaviaError } from "./errors.js";
import type { ApiError, SimRequest, SimResponse } from "./http.js";
import { asRecord, nowNaive } from "./http.js";
import type { Rec, World } from "./world.js";

/** Octavia's input checks, views and the lookups shared by the load-balancer route modules. */

export type Coll = "loadbalancers" | "listeners" | "pools" | "members" | "healthmonitors";

export const PROTOCOLS = ["HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"];
export const POOL_PROTOCOLS = ["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP"];
export const ALGORITHMS = ["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"];
export const HM_TYPES = ["HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"];

export const vf = (m: string) => octaviaError(400, `Validation failure: ${m}`);

export function invalidValue(field: string, value: unknown, why: string): ApiError {
  return octaviaError(400, `Invalid input for field/attribute ${field}. Value: '${String(value)}'. ${why}`);
}

export function body(req: SimRequest, key: string, allowed: string[]): Record<string, unknown> {
  const b = asRecord(asRecord(req.body)?.[key]);
  if (!b) throw octaviaError(400, `Invalid input for field/attribute ${key}. Value: '${JSON.stringify(req.body)}'. Mandatory field missing.`);
  for (const k of Object.keys(b)) {
    if (!allowed.includes(k)) throw octaviaError(400, `Invalid input for field/attribute ${k}. Value: '${JSON.stringify(b[k])}'. Unknown attribute.`);
  }
  return b;
}

export function intField(b: Record<string, unknown>, k: string, min: number, max: number, required: boolean): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) {
    if (required) throw invalidValue(k, v, "Mandatory field missing.");
    return undefined;
  }
  if (typeof v !== "number" || !Number.isInteger(v)) throw invalidValue(k, v, "Value should be integer format");
  if (v < min || v > max) throw invalidValue(k, v, `Value should be greater or equal to ${min} and lower or equal to ${max}`);
  return v;
}

export function enumField(b: Record<string, unknown>, k: string, values: string[], required: boolean): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) {
    if (required) throw invalidValue(k, v, "Mandatory field missing.");
    return undefined;
  }
  if (typeof v !== "string" || !values.includes(v)) throw invalidValue(k, v, `Value should be one of: ${values.join(", ")}`);
  return v;
}

export function strField(b: Record<string, unknown>, k: string): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalidValue(k, v, "Value should be string format");
  if (v.length > 255) throw invalidValue(k, v, "Value should have a maximum character requirement of 255");
  return v;
}

/** Zed omits healthmonitor_id until the pool has a monitor. */
export function poolView(p: Rec): Rec {
  if (p["healthmonitor_id"]) return p;
  const { healthmonitor_id: _h, ...rest } = p;
  return rest as Rec;
}

export function memberView(m: Rec): Rec {
  const { loadbalancers: _l, pool_id: _p, ...rest } = m;
  return rest as Rec;
}

export function hmView(h: Rec): Rec {
  const { loadbalancers: _l, ...rest } = h;
  return rest as Rec;
}

export interface LbApi {
  w: () => World;
  ok: (b: unknown, status?: number) => SimResponse;
  coll: (c: Coll) => Record<string, Rec>;
  now: () => string;
  /** The fields every new Octavia object starts with. */
  base: (projectId: string) => Record<string, unknown>;
  get: (req: SimRequest, c: Coll, id: string, label: string) => Rec;
  getLb: (req: SimRequest, id: string) => Rec;
  /** Octavia refuses changes while the load balancer is in any PENDING_* state. */
  mutable: (lb: Rec) => void;
  startUpdate: (lb: Rec) => void;
  lbOf: (x: Rec) => Rec;
}

export function lbApi(ctx: SimContext): LbApi {
  const w = (): World => ctx.world;
  const ok = (b: unknown, status = 200): SimResponse => ({ status, body: b });
  const coll = (c: Coll) => w().data[c];
  const now = () => nowNaive();
  const base = (projectId: string): Record<string, unknown> => ({
    created_at: now(),
    operating_status: "OFFLINE",
    project_id: projectId,
    provisioning_status: "PENDING_CREATE",
    tags: [],
    tenant_id: projectId,
    updated_at: null,
  });

  const get = (req: SimRequest, c: Coll, id: string, label: string): Rec => {
    w().advance();
    const x = coll(c)[id];
    if (!x || x["project_id"] !== req.auth.projectId) throw octaviaError(404, `${label} ${id} not found.`);
    return x;
  };
  const getLb = (req: SimRequest, id: string) => get(req, "loadbalancers", id, "Load Balancer");
  /** Octavia refuses changes while the load balancer is in any PENDING_* state. */
  const mutable = (lb: Rec): void => {
    if (String(lb["provisioning_status"]).startsWith("PENDING_")) {
      throw octaviaError(409, `Load Balancer ${lb.id} is immutable and cannot be updated.`);
    }
  };
  const startUpdate = (lb: Rec): void => {
    lb["provisioning_status"] = "PENDING_UPDATE";
    lb["updated_at"] = now();
    w().schedule("lb-settle", lb.id, w().timing.lbUpdateDelayMs);
  };
  const lbOf = (x: Rec): Rec => coll("loadbalancers")[((x["loadbalancers"] as { id: string }[])[0] as { id: string }).id] as Rec;
  return { w, ok, coll, now, base, get, getLb, mutable, startUpdate, lbOf };
}
