import type { ServiceName } from "./http.js";
import { SERVICE_NAMES } from "./http.js";

/** Fault injection: latency per service, errors per service/method/path, failed builds. */

export type FaultKind = "500" | "502" | "503" | "429" | "409" | "drop";

export interface ErrorRule {
  /** Service name, or "*" for all (the admin endpoint is never faulted). */
  service?: ServiceName | "*";
  /** HTTP method, or "*" / omitted for all. */
  method?: string;
  /** Only requests whose path (below the service prefix) contains this text. */
  pathContains?: string;
  /** Probability 0..1 that a matching request fails. */
  rate: number;
  kind: FaultKind;
  /** Retry-After seconds sent with 429 and 503. */
  retryAfterSeconds?: number;
  /** Stop after this many injected failures. */
  count?: number;
}

export interface FaultConfig {
  /** Added latency in ms per service ("*" for every service). */
  latencyMs?: Partial<Record<ServiceName | "*", number>>;
  errors?: ErrorRule[];
  /** The next N server builds end in ERROR with a fault. */
  failServerBuilds?: number;
}

const KINDS: FaultKind[] = ["500", "502", "503", "429", "409", "drop"];

export class Faults {
  config: Required<Pick<FaultConfig, "latencyMs" | "errors">> & { failServerBuilds: number };
  private readonly random: () => number;

  constructor(initial?: FaultConfig, random: () => number = Math.random) {
    this.config = { latencyMs: {}, errors: [], failServerBuilds: 0 };
    this.random = random;
    if (initial) this.set(initial);
  }

  /** Replaces the fault configuration (validated; throws Error with a message naming the field). */
  set(c: FaultConfig): void {
    validateFaults(c);
    this.config = {
      latencyMs: { ...(c.latencyMs ?? {}) },
      errors: (c.errors ?? []).map((e) => ({ ...e })),
      failServerBuilds: c.failServerBuilds ?? 0,
    };
  }

  latencyFor(service: ServiceName): number {
    if (service === "admin") return 0;
    return this.config.latencyMs[service] ?? this.config.latencyMs["*"] ?? 0;
  }

  /** The fault to inject for this request, if any (and counts it). */
  pick(service: ServiceName, method: string, path: string): ErrorRule | undefined {
    if (service === "admin") return undefined;
    for (const rule of this.config.errors) {
      if (rule.service && rule.service !== "*" && rule.service !== service) continue;
      if (rule.method && rule.method !== "*" && rule.method.toUpperCase() !== method) continue;
      if (rule.pathContains && !path.includes(rule.pathContains)) continue;
      if (rule.count !== undefined && rule.count <= 0) continue;
      if (this.random() >= rule.rate) continue;
      if (rule.count !== undefined) rule.count -= 1;
      return rule;
    }
    return undefined;
  }

  takeServerBuildFailure(): boolean {
    if (this.config.failServerBuilds > 0) {
      this.config.failServerBuilds -= 1;
      return true;
    }
    return false;
  }
}

export function validateFaults(c: unknown): asserts c is FaultConfig {
  if (typeof c !== "object" || c === null || Array.isArray(c)) throw new Error("faults: must be an object");
  const f = c as Record<string, unknown>;
  for (const k of Object.keys(f)) {
    if (!["latencyMs", "errors", "failServerBuilds"].includes(k)) throw new Error(`faults: unknown key "${k}"`);
  }
  if (f["latencyMs"] !== undefined) {
    if (typeof f["latencyMs"] !== "object" || f["latencyMs"] === null) throw new Error("faults.latencyMs: must be an object");
    for (const [k, v] of Object.entries(f["latencyMs"] as Record<string, unknown>)) {
      if (k !== "*" && !SERVICE_NAMES.includes(k as ServiceName)) throw new Error(`faults.latencyMs: unknown service "${k}"`);
      if (typeof v !== "number" || v < 0) throw new Error(`faults.latencyMs.${k}: must be a number >= 0`);
    }
  }
  if (f["errors"] !== undefined) {
    if (!Array.isArray(f["errors"])) throw new Error("faults.errors: must be a list");
    for (const [i, e] of (f["errors"] as unknown[]).entries()) {
      const r = e as Record<string, unknown>;
      if (typeof r !== "object" || r === null) throw new Error(`faults.errors[${i}]: must be an object`);
      if (typeof r["rate"] !== "number" || r["rate"] < 0 || r["rate"] > 1) throw new Error(`faults.errors[${i}].rate: must be a number in 0..1`);
      if (!KINDS.includes(r["kind"] as FaultKind)) throw new Error(`faults.errors[${i}].kind: must be one of ${KINDS.join(", ")}`);
      if (r["service"] !== undefined && r["service"] !== "*" && !SERVICE_NAMES.includes(r["service"] as ServiceName)) {
        throw new Error(`faults.errors[${i}].service: unknown service "${String(r["service"])}"`);
      }
    }
  }
  if (f["failServerBuilds"] !== undefined && (typeof f["failServerBuilds"] !== "number" || f["failServerBuilds"] < 0)) {
    throw new Error("faults.failServerBuilds: must be a number >= 0");
  }
}
