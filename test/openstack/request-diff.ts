// Comparing the OpenStack requests our controllers made against the real cloud with those against the simulator:
// sequences of "service METHOD /path/{id} status", with repeats collapsed (how often a status is polled depends on
// timing, not on the API), and the documented differences read from docs/sim.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../src/testenv/index.js";

/** One request as the controller child writes it down. */
export interface Recorded {
  service: string;
  method: string;
  path: string;
  status: number;
}

export const requestKey = (r: Recorded): string => `${r.method} ${r.service} ${r.path} ${r.status}`;

/** The keys in order, each run of the same key collapsed to one. */
export function collapse(rs: readonly Recorded[]): string[] {
  const out: string[] = [];
  for (const k of rs.map(requestKey)) if (out[out.length - 1] !== k) out.push(k);
  return out;
}

/** A line-by-line diff (longest common subsequence): "  key" in both, "- key" only in `a`, "+ key" only in `b`. */
export function diffSequences(a: readonly string[], b: readonly string[]): string[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}

/** Request kinds only one side made: each key with who made it. */
export function kindDifferences(real: readonly Recorded[], sim: readonly Recorded[]): { key: string; only: "real" | "sim" }[] {
  const r = new Set(real.map(requestKey));
  const s = new Set(sim.map(requestKey));
  return [
    ...[...r].filter((k) => !s.has(k)).map((key) => ({ key, only: "real" as const })),
    ...[...s].filter((k) => !r.has(k)).map((key) => ({ key, only: "sim" as const })),
  ].sort((x, y) => x.key.localeCompare(y.key));
}

/**
 * The requests without GETs by id answered 404 after the same side deleted something at that path: a pass looking
 * once more at what it had just deleted. Whether such a pass runs is timing (how long the service takes to delete,
 * when a watch event lands), and both clouds answer that GET with 404, so these are left out of the kind comparison.
 */
export function withoutLooksAfterDelete(rs: readonly Recorded[]): Recorded[] {
  const deleted = new Set<string>();
  return rs.filter((r) => {
    const at = `${r.service} ${r.path}`;
    if (r.method === "DELETE" && r.status >= 200 && r.status < 300) deleted.add(at);
    return !(r.method === "GET" && r.status === 404 && deleted.has(at));
  });
}

/** Counts per key, for "how many of each" tables. */
export function countKeys(rs: readonly Recorded[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of rs.map(requestKey)) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

export const DIFFERENCES_HEADING = "## The real Zed cloud and the `zed` profile";

/**
 * The differences docs/sim.md explains: the first cell of each table row below DIFFERENCES_HEADING, a request key in
 * backticks ("`GET network /trunks 404`"), with the side that makes it ("real" or "sim") in the second cell.
 */
export function documentedDifferences(): { key: string; only: string }[] {
  const text = readFileSync(join(repoRoot(), "docs", "sim.md"), "utf8");
  const start = text.indexOf(DIFFERENCES_HEADING);
  if (start < 0) return [];
  const section = text.slice(start + DIFFERENCES_HEADING.length).split(/\n## /)[0] ?? "";
  const rows: { key: string; only: string }[] = [];
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*(real|sim)\s*\|/.exec(line);
    if (m) rows.push({ key: m[1]!, only: m[2]! });
  }
  return rows;
}
