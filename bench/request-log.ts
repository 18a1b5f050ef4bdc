/**
 * The simulator's request log, cut into the benchmark's phases: each phase reads the counts and resets them, so a
 * phase holds exactly the requests made while it lasted. Counts are per path template (`/servers/{id}`), as the
 * simulator's router matched them; the admin API's own requests are left out.
 */
import type { RequestCount } from "./run.js";

export interface PhaseRequests {
  total: number;
  counts: RequestCount[];
}

export async function readRequests(adminUrl: string): Promise<PhaseRequests> {
  const res = await fetch(`${adminUrl}/requests`);
  if (!res.ok) throw new Error(`GET ${adminUrl}/requests answered ${res.status}`);
  const body = (await res.json()) as { counts: RequestCount[] };
  const counts = body.counts.filter((c) => c.service !== "admin");
  return { total: counts.reduce((n, c) => n + c.count, 0), counts };
}

/** The requests since the last cut, then starts a new phase. */
export async function cutPhase(adminUrl: string): Promise<PhaseRequests> {
  const phase = await readRequests(adminUrl);
  const res = await fetch(`${adminUrl}/requests`, { method: "DELETE" });
  if (!res.ok) throw new Error(`DELETE ${adminUrl}/requests answered ${res.status}`);
  return phase;
}

/** Several phases' counts added up per (service, method, path). */
export function mergePhases(...phases: PhaseRequests[]): PhaseRequests {
  const m = new Map<string, RequestCount>();
  for (const c of phases.flatMap((p) => p.counts)) {
    const k = `${c.service} ${c.method} ${c.path}`;
    const e = m.get(k) ?? { ...c, count: 0 };
    e.count += c.count;
    m.set(k, e);
  }
  const counts = [...m.values()];
  return { total: counts.reduce((n, c) => n + c.count, 0), counts };
}

/** The `n` most frequent requests, as "METHOD service path", most frequent first (ties by name, so stable). */
export function topPaths(p: PhaseRequests, n: number): { request: string; count: number }[] {
  return p.counts
    .map((c) => ({ request: `${c.method} ${c.service} ${c.path}`, count: c.count }))
    .sort((a, b) => b.count - a.count || a.request.localeCompare(b.request))
    .slice(0, n);
}
