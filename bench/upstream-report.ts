/** The side-by-side table of `npm run bench:upstream`, and the goals of issue 14 checked against it. */
import { mergePhases, topPaths } from "./request-log.js";
import type { BenchOptions, ProviderRun } from "./upstream.js";

/** One cluster count's runs; a provider left out with --providers is undefined. */
export interface RunPair {
  up?: ProviderRun;
  ours?: ProviderRun;
  /** The provider that ran first in this round (rounds alternate the order). */
  firstRun?: "upstream" | "capo-ts";
}

const secs = (ms: number | undefined): string => (ms === undefined ? "not reached" : `${(ms / 1000).toFixed(1)} s`);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ratio = (ours: number | undefined, theirs: number | undefined): string =>
  ours === undefined || theirs === undefined || theirs === 0 ? "–" : (ours / theirs).toFixed(2);

function row(label: string, up: string, ours: string, r: string): string {
  return `| ${label} | ${up} | ${ours} | ${r} |`;
}

/** A cell for a provider's run, or "not run" when the run was left out (--providers). */
function cell(r: ProviderRun | undefined, f: (r: ProviderRun) => string): string {
  return r ? f(r) : "not run";
}

function pairTable(up: ProviderRun | undefined, ours: ProviderRun | undefined, idleMs: number): string[] {
  const any = (up ?? ours)!;
  const m = any.machines;
  const per = (n: number): string => `${n} (${(n / m).toFixed(1)} per machine)`;
  const perMin = (n: number): string => `${n} (${((n * 60_000) / idleMs).toFixed(1)}/min)`;
  const left = (r: ProviderRun): string => (Object.keys(r.leftovers).length === 0 ? "none" : JSON.stringify(r.leftovers));
  const both = (label: string, f: (r: ProviderRun) => string, num?: (r: ProviderRun) => number | undefined): string =>
    row(label, cell(up, f), cell(ours, f), num && up && ours ? ratio(num(ours), num(up)) : "");
  return [
    `| ${any.clusters} cluster${any.clusters === 1 ? "" : "s"}, ${m} machines | upstream CAPO ${up?.version ?? ""} | capo-ts ${ours?.version ?? ""} | capo-ts / upstream |`,
    "|---|---:|---:|---:|",
    both("first control-plane machine provisioned after apply", (r) => secs(r.milestones.firstCpProvisioned), (r) => r.milestones.firstCpProvisioned),
    ...(m > 1 ? [both(`half of the ${m} machines provisioned`, (r) => secs(r.milestones.halfProvisioned), (r) => r.milestones.halfProvisioned)] : []),
    both(`all ${m} machines provisioned`, (r) => secs(r.milestones.allProvisioned), (r) => r.milestones.allProvisioned),
    both(`all ${m} Nodes Ready (Machines Running with nodeRef)`, (r) => secs(r.milestones.allNodesReady), (r) => r.milestones.allNodesReady),
    both("delete: all Clusters gone", (r) => secs(r.milestones.deleted), (r) => r.milestones.deleted),
    both("OpenStack requests, apply → all machines provisioned", (r) => per(r.toProvisioned.total), (r) => r.toProvisioned.total),
    both("OpenStack requests, provisioned → Nodes Ready", (r) => String(r.toNodes.total), (r) => r.toNodes.total),
    both(`OpenStack requests while idle (${idleMs / 1000} s)`, (r) => perMin(r.idle.total), (r) => r.idle.total),
    both("OpenStack requests to delete", (r) => per(r.del.total), (r) => r.del.total),
    both("OpenStack resources left after delete", left),
    both("provider RSS at start", (r) => mib(r.start.rssBytes), (r) => r.start.rssBytes),
    both("provider RSS peak", (r) => mib(r.end.peakRssBytes), (r) => r.end.peakRssBytes),
    both("provider CPU until started (loading, caches synced, +2 s)", (r) => `${r.start.cpuSeconds.toFixed(2)} s`, (r) => r.start.cpuSeconds),
    both("provider CPU, total (start to end of delete)", (r) => `${r.end.cpuSeconds.toFixed(2)} s`, (r) => r.end.cpuSeconds),
  ];
}

function topTable(up: ProviderRun | undefined, ours: ProviderRun | undefined): string[] {
  const all = (r: ProviderRun | undefined) => (r ? topPaths(mergePhases(r.toProvisioned, r.toNodes, r.idle, r.del), 10) : []);
  const a = all(up);
  const b = all(ours);
  const lines = ["| # | upstream CAPO | requests | capo-ts | requests |", "|---:|---|---:|---|---:|"];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = (x: { request: string; count: number } | undefined): string => (x ? `\`${x.request}\` | ${x.count}` : " | ");
    lines.push(`| ${i + 1} | ${c(a[i])} | ${c(b[i])} |`);
  }
  return lines;
}

const met = (ok: boolean | undefined): string => (ok === undefined ? "not measured" : ok ? "**met**" : "**not met**");

/** The middle value (the lower middle of an even count); undefined values (a milestone not reached) sort last. */
export function median(values: Array<number | undefined>): number | undefined {
  const sorted = [...values].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

type Complete = { up: ProviderRun; ours: ProviderRun };

/** A goal every round must meet: the columns show the medians, the verdict counts the rounds. */
function everyRound(label: string, rounds: Complete[], value: (r: ProviderRun) => number, show: (v: number) => string, ok: (ours: number, up: number) => boolean | undefined): string {
  const verdicts = rounds.map(({ up, ours }) => ok(value(ours), value(up)));
  const n = rounds[0]!.up.clusters;
  const up = show(median(rounds.map((r) => value(r.up)))!);
  const ours = show(median(rounds.map((r) => value(r.ours)))!);
  const metIn = verdicts.filter((v) => v === true).length;
  const verdict = verdicts.some((v) => v === undefined) ? met(undefined) : met(metIn === rounds.length);
  return `| ${label} | ${n} | ${up} | ${ours} | ${verdict}${rounds.length > 1 ? ` (in ${metIn} of ${rounds.length} rounds)` : ""} |`;
}

/**
 * A time goal: judged on the medians over the rounds, as one run of 100 clusters on 2 cores varies by more than the
 * providers differ (Cluster API's controllers and the kube-apiserver share the cores).
 */
function aheadOnMedian(label: string, rounds: Complete[], k: "allProvisioned" | "deleted"): string {
  const up = median(rounds.map((r) => r.up.milestones[k]));
  const ours = median(rounds.map((r) => r.ours.milestones[k]));
  const ahead = (o: number | undefined, u: number | undefined): boolean => (o === undefined ? false : u === undefined ? true : o < u);
  const k2 = rounds.filter((r) => ahead(r.ours.milestones[k], r.up.milestones[k])).length;
  const n = rounds[0]!.up.clusters;
  const detail = rounds.length > 1 ? ` (medians; ahead in ${k2} of ${rounds.length} rounds)` : "";
  return `| ${label} | ${n} | ${secs(up)} | ${secs(ours)} | ${met(ahead(ours, up))}${detail} |`;
}

function goals(counts: RunPair[][]): string[] {
  const lines = ["| goal (issue 14) | clusters | upstream | capo-ts | verdict |", "|---|---:|---:|---:|---|"];
  for (const pairs of counts) {
    const rounds = pairs.filter((p): p is Complete => p.up !== undefined && p.ours !== undefined);
    if (rounds.length === 0) continue;
    const n = rounds[0]!.up.clusters;
    const perMachine = (r: ProviderRun): number => r.toProvisioned.total / r.machines;
    const reachedAll = rounds.every((r) => r.up.milestones.allProvisioned !== undefined && r.ours.milestones.allProvisioned !== undefined);
    lines.push(everyRound("requests per provisioned machine ≤ 0.5× upstream's", rounds, perMachine, (v) => v.toFixed(1), (o, u) => (reachedAll ? o <= 0.5 * u : undefined)));
    lines.push(everyRound("0 requests while idle (between resyncs)", rounds, (r) => r.idle.total, String, (o) => o === 0));
    lines.push(everyRound("requests to delete ≤ upstream's", rounds, (r) => r.del.total, String, (o, u) => o <= u));
    lines.push(aheadOnMedian("time to all provisioned ahead of upstream", rounds, "allProvisioned"));
    lines.push(aheadOnMedian("time to delete ahead of upstream", rounds, "deleted"));
    lines.push(everyRound("RSS at start ≤ 80 MiB", rounds, (r) => r.start.rssBytes, mib, (o) => o <= 80 * 2 ** 20));
    // The issue sets this bound for 10 clusters; at other counts the peak is reported above, not judged.
    if (n === 10) lines.push(everyRound("peak RSS ≤ 100 MiB at 10 clusters", rounds, (r) => r.end.peakRssBytes, mib, (o) => o <= 100 * 2 ** 20));
    lines.push(everyRound("CPU ≤ 2× upstream's", rounds, (r) => r.end.cpuSeconds, (v) => `${v.toFixed(2)} s`, (o, u) => o <= 2 * u));
  }
  return lines;
}

/** Each round's times side by side, and their medians. */
function roundsTable(pairs: RunPair[]): string[] {
  const lines = [
    "| round (first to run) | all provisioned: upstream | capo-ts | ratio | delete: upstream | capo-ts | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  const cells = (up: Array<number | undefined>, ours: Array<number | undefined>, k: number | "median"): string => {
    const u = k === "median" ? median(up) : up[k];
    const o = k === "median" ? median(ours) : ours[k];
    return `${secs(u)} | ${secs(o)} | ${ratio(o, u)}`;
  };
  const prov = (w: "up" | "ours") => pairs.map((p) => p[w]?.milestones.allProvisioned);
  const del = (w: "up" | "ours") => pairs.map((p) => p[w]?.milestones.deleted);
  pairs.forEach((p, i) => {
    lines.push(`| ${i + 1} (${p.firstRun ?? "upstream"}) | ${cells(prov("up"), prov("ours"), i)} | ${cells(del("up"), del("ours"), i)} |`);
  });
  lines.push(`| **median** | ${cells(prov("up"), prov("ours"), "median")} | ${cells(del("up"), del("ours"), "median")} |`);
  return lines;
}

/** `counts` holds, per cluster count, one pair per round. */
export function renderUpstreamSection(counts: RunPair[][], o: BenchOptions, machine: string, capiVersion: string): string {
  const flags = o.argv.filter((a) => a !== "--no-write").join(" ");
  const first = counts[0]?.[0]?.up ?? counts[0]?.[0]?.ours;
  const lines = [
    `Command: \`npm run bench:upstream${flags ? ` -- ${flags}` : ""}\` (= \`npm run build && CAPO_TESTBIN_WITH_UPSTREAM_CAPO=1 bash hack/testbins.sh && node dist/bench/upstream.js${flags ? ` ${flags}` : ""}\`)`,
    "",
    `Machine: ${machine}, load average at the first run's start ${first?.load.map((l) => l.toFixed(2)).join(" / ") ?? "?"} (shared with other sessions). ` +
      `Each provider ran alone, one after the other, each in a fresh world: \`capo sim\` (default world, unlimited quotas, server build ${o.buildMs} ms, ` +
      `${o.latencyMs} ms added latency), a fresh etcd + kube-apiserver with that provider's CRDs, the real Cluster API ${capiVersion} managers and the ` +
      "workload-cluster emulator in their network namespace (upstream's manager runs in there too). Cluster: without-lb, 1 control plane + " +
      `${o.workers} worker${o.workers === 1 ? "" : "s"}, from each provider's own template (upstream: its templates/cluster-template-without-lb.yaml with ` +
      "clusterctl variables; capo-ts: `capo generate cluster --flavor without-lb` less its two MachineHealthChecks, which upstream's template lacks), same version, image, flavors, DNS, failure domain and external network. " +
      `Both with their default --sync-period (10 min). Manifests server-side applied ${o.applyParallel} clusters at a time, time measured from the first apply. Milestones from the CAPI Machines (polled every 250 ms); requests from the simulator's request log, ` +
      "cut at each phase; RSS (VmRSS at start, VmHWM peak) and CPU (utime + stime) from /proc of the provider's process, start = 2 s after it was ready." +
      (o.rounds > 1 ? ` ${o.rounds} rounds per cluster count, the order of the providers alternating; the time goals are judged on the medians, every other goal in every round.` : ""),
  ];
  for (const pairs of counts) {
    const n = (pairs[0]?.up ?? pairs[0]?.ours)?.clusters ?? 0;
    if (n === 0) continue;
    pairs.forEach(({ up, ours, firstRun }, i) => {
      if (pairs.length > 1) lines.push("", `Round ${i + 1} of ${pairs.length} (${firstRun ?? "upstream"} ran first):`);
      lines.push("", ...pairTable(up, ours, o.idleMs));
    });
    if (pairs.length > 1) lines.push("", `Rounds, ${n} cluster${n === 1 ? "" : "s"}:`, "", ...roundsTable(pairs));
    const { up, ours } = pairs[0]!;
    lines.push("", `Most frequent OpenStack requests, whole run (${n} cluster${n === 1 ? "" : "s"}${pairs.length > 1 ? ", round 1" : ""}):`, "", ...topTable(up, ours));
  }
  lines.push("", "Goals:", "", ...goals(counts));
  return lines.join("\n");
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`, or appends the section with a heading. */
export function replaceMarkedSection(doc: string, name: string, heading: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body}\n${end}`;
  const s = doc.indexOf(start);
  const e = doc.indexOf(end);
  if (s >= 0 && e > s) return doc.slice(0, s) + block + doc.slice(e + end.length);
  return `${doc.replace(/\s*$/, "\n")}\n## ${heading}\n\n${block}\n`;
}
