import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningSimulator, SimConfig, StartSimulatorOptions } from "../../src/sim/index.js";
import { startSimulator } from "../../src/sim/index.js";
import { sharedPath } from "./shared.js";

export type { RunningSimulator } from "../../src/sim/index.js";

/**
 * Starts a simulator on 127.0.0.1 with a free port and short delays (servers ACTIVE after 50 ms).
 * Registers nothing itself: callers stop it in afterAll with `close()`.
 */
export async function startTestSimulator(opts: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const config: SimConfig = {
    ...opts.config,
    timing: { buildDelayMs: 50, deleteDelayMs: 30, lbUpdateDelayMs: 30, volumeDelayMs: 30, ...opts.config?.timing },
  };
  return startSimulator({ ...opts, config });
}

export interface SimCallResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A minimal authenticated HTTP client for tests that talk to the simulator directly. */
export class SimSession {
  token = "";
  projectId = "";
  userId = "";

  constructor(readonly sim: RunningSimulator) {}

  static async login(
    sim: RunningSimulator,
    creds: { username?: string; password?: string; project?: string } = {},
  ): Promise<SimSession> {
    const s = new SimSession(sim);
    const r = await fetch(`${sim.authUrl}/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ["password"],
            password: { user: { name: creds.username ?? "demo", domain: { name: "Default" }, password: creds.password ?? "demo" } },
          },
          scope: { project: { name: creds.project ?? "demo", domain: { name: "Default" } } },
        },
      }),
    });
    if (r.status !== 201) throw new Error(`login failed: ${r.status} ${await r.text()}`);
    s.token = r.headers.get("x-subject-token") ?? "";
    const body = (await r.json()) as { token: { project: { id: string }; user: { id: string } } };
    s.projectId = body.token.project.id;
    s.userId = body.token.user.id;
    return s;
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<SimCallResult<T>> {
    const init: RequestInit = {
      method,
      headers: { "x-auth-token": this.token, accept: "application/json", ...headers },
    };
    if (body !== undefined) {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const r = await fetch(`${this.sim.url}${path}`, init);
    const text = await r.text();
    let parsed: unknown = text;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: r.status, headers: r.headers, body: parsed as T };
  }

  /** Polls `path` until `pred` holds on the body (or the timeout passes). */
  async until<T = Record<string, unknown>>(
    path: string,
    pred: (r: SimCallResult<T>) => boolean,
    timeoutMs = 5000,
  ): Promise<SimCallResult<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call<T>("GET", path);
      if (pred(r)) return r;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${path}: last ${r.status} ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

export async function admin<T = Record<string, unknown>>(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<SimCallResult<T>> {
  const r = await fetch(`${sim.adminUrl}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

// --- recorded reference exchanges (real OpenStack Zed)

export const REFERENCE_DIR = sharedPath("openstack-reference", "zed");

export interface ReferenceExchange {
  name: string;
  request: { method: string; path: string; headers: Record<string, string> | null; body: unknown };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

export function loadReference(file: string): ReferenceExchange {
  return JSON.parse(readFileSync(join(REFERENCE_DIR, file), "utf8")) as ReferenceExchange;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/**
 * Differences in key structure and value types between a recorded body and ours: missing keys, extra keys and type
 * mismatches, with JSON paths. Arrays compare every element of ours against the recording's first element.
 * `ignore` lists paths (e.g. "server.fault") not to compare.
 */
export function shapeDiff(reference: unknown, actual: unknown, opts: { ignore?: string[]; path?: string } = {}): string[] {
  const path = opts.path ?? "$";
  const ignore = opts.ignore ?? [];
  if (ignore.includes(path)) return [];
  const rk = kind(reference);
  const ak = kind(actual);
  if (rk !== ak) return [`${path}: type ${ak}, recorded ${rk}`];
  const out: string[] = [];
  if (rk === "object") {
    const r = reference as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      const p = `${path}.${k}`;
      if (ignore.includes(p)) continue;
      if (!(k in a)) out.push(`${p}: missing`);
      else out.push(...shapeDiff(r[k], a[k], { ignore, path: p }));
    }
    for (const k of Object.keys(a)) {
      const p = `${path}.${k}`;
      if (!(k in r) && !ignore.includes(p)) out.push(`${p}: not in the recording`);
    }
  } else if (rk === "array") {
    const r = reference as unknown[];
    const a = actual as unknown[];
    // Each of our elements is compared with the recorded element it resembles most (lists can mix shapes).
    if (r.length > 0) {
      for (const x of a) {
        let best: string[] | undefined;
        for (const candidate of r) {
          const d = shapeDiff(candidate, x, { ignore, path: `${path}[]` });
          if (!best || d.length < best.length) best = d;
        }
        out.push(...(best ?? []));
      }
    }
  }
  return [...new Set(out)];
}

export interface InventoryItem {
  id: string;
  name: string | null;
  status: string | null;
}

/** A project's resources in the simulator (external networks and default security groups excluded). */
export async function inventory(sim: RunningSimulator, project = "demo"): Promise<Record<string, InventoryItem[]>> {
  const r = await admin<{ projects: { resources: Record<string, InventoryItem[]> }[] }>(sim, "GET", `/inventory?project=${encodeURIComponent(project)}`);
  const p = r.body.projects[0];
  if (!p) throw new Error(`simulator has no ${project} project`);
  return p.resources;
}

/** What a cluster may leave behind in OpenStack; all of it must be gone after the cluster is deleted (key pairs are the user's). */
export const CLUSTER_RESOURCE_KINDS = [
  "networks",
  "subnets",
  "ports",
  "routers",
  "security_groups",
  "security_group_rules",
  "floatingips",
  "loadbalancers",
  "listeners",
  "pools",
  "members",
  "healthmonitors",
  "servers",
  "volumes",
  "trunks",
] as const;

/** Resources of each cluster kind that are not (soft-)deleted. */
export function liveCounts(inv: Record<string, InventoryItem[]>): Record<string, number> {
  return Object.fromEntries(CLUSTER_RESOURCE_KINDS.map((k) => [k, (inv[k] ?? []).filter((x) => x.status !== "DELETED").length]));
}
