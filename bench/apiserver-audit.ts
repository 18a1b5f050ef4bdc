import { readFileSync } from "node:fs";

/** One row of what the apiserver was asked: by whom, what, and how often. */
export interface AuditCount {
  client: string;
  verb: string;
  resource: string;
  count: number;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  userAgent?: string;
  requestReceivedTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string };
}

/** The program a user agent names: client-go and ours both start it with "<program>/<version>". */
function programOf(userAgent: string | undefined): string {
  return userAgent?.split("/")[0]?.trim() || "(none)";
}

/**
 * Requests per client, verb and resource received at or after sinceMs, from the lines of an audit log written with
 * startControlPlane's policy: a watch counts once, at ResponseStarted; any other request at ResponseComplete.
 */
export function countAuditRequests(lines: Iterable<string>, sinceMs: number): AuditCount[] {
  const counts = new Map<string, AuditCount>();
  for (const line of lines) {
    if (!line.trim()) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // the apiserver may be mid-write on the last line
    }
    const counted = e.verb === "watch" ? "ResponseStarted" : "ResponseComplete";
    if (e.stage !== counted) continue;
    if (Date.parse(e.requestReceivedTimestamp ?? "") < sinceMs) continue;
    const ref = e.objectRef;
    const resource = ref?.resource ? `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ""}` : "(non-resource)";
    const row = { client: programOf(e.userAgent), verb: e.verb ?? "?", resource };
    const key = `${row.client}\u0000${row.verb}\u0000${row.resource}`;
    const hit = counts.get(key);
    if (hit) hit.count++;
    else counts.set(key, { ...row, count: 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.client.localeCompare(b.client));
}

/** The summary the diagnose mode prints: requests per client, then the busiest client/verb/resource rows. */
export function renderAuditSummary(counts: readonly AuditCount[], top: number): string[] {
  const perClient = new Map<string, number>();
  for (const c of counts) perClient.set(c.client, (perClient.get(c.client) ?? 0) + c.count);
  const out = ["  apiserver requests by client (audit log), apply -> all provisioned:"];
  for (const [client, n] of [...perClient].sort((a, b) => b[1] - a[1])) out.push(`    ${String(n).padStart(7)}  ${client}`);
  out.push(`  the ${top} busiest client / verb / resource:`);
  for (const c of counts.slice(0, top)) out.push(`    ${String(c.count).padStart(7)}  ${c.client} ${c.verb} ${c.resource}`);
  return out;
}

export function readAuditLog(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n");
  } catch {
    return [];
  }
}
