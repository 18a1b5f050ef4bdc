/**
 * Where a machine's time to provisioned goes, for `bench:upstream --diagnose`: when its cluster's apply returned,
 * and the first poll at which its infrastructure cluster was provisioned, the Machine existed, had its bootstrap
 * data, had its infrastructure machine report provisioned, and was marked infrastructure-provisioned by Cluster API.
 * The gaps tell a provider that is slow to build from a Cluster API that is slow to notice.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { CLUSTER_NAME_LABEL } from "../src/runtime/index.js";

export interface StageTimes {
  /** When the bench's apply of the machine's cluster's objects returned. */
  applied?: number;
  /** The first poll that found the machine's cluster's infrastructure cluster provisioned. */
  clusterReady?: number;
  seen?: number;
  bootstrapReady?: number;
  infraReady?: number;
  provisioned?: number;
}

interface MachineView extends KubernetesObject {
  spec?: { clusterName?: string; bootstrap?: { dataSecretName?: string } };
  status?: { initialization?: { infrastructureProvisioned?: boolean } };
}

/** An infrastructure machine or cluster, in either contract version. */
interface InfraObjectView extends KubernetesObject {
  status?: { ready?: boolean; initialization?: { provisioned?: boolean } };
}

/** v1beta1 (upstream) says `status.ready`; the v1beta2 contract says `status.initialization.provisioned`. */
function infraProvisioned(o: InfraObjectView): boolean {
  return o.status?.initialization?.provisioned === true || o.status?.ready === true;
}

function ownerName(o: KubernetesObject, kind: "Machine" | "Cluster"): string | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.kind === kind)?.name;
}

export interface StageTracking {
  machines: Map<string, StageTimes>;
  /** Per cluster name: the first poll that found its infrastructure cluster provisioned. */
  clusters: Map<string, number>;
  /** Per cluster name: when the apply of its objects returned. */
  applied: Map<string, number>;
}

/**
 * Marks each stage the first time a poll at `now` (ms since the first apply) finds it: per cluster (the
 * infrastructure cluster's owner Cluster, else its cluster-name label) and per Machine name.
 */
export function observeStages(times: StageTracking, machines: MachineView[], infra: InfraObjectView[], infraClusters: InfraObjectView[], now: number): void {
  for (const c of infraClusters.filter(infraProvisioned)) {
    const cluster = ownerName(c, "Cluster") ?? c.metadata?.labels?.[CLUSTER_NAME_LABEL];
    if (cluster && !times.clusters.has(cluster)) times.clusters.set(cluster, now);
  }
  const infraReadyFor = new Set(infra.filter(infraProvisioned).map((o) => ownerName(o, "Machine")));
  for (const m of machines) {
    const name = m.metadata?.name;
    if (!name) continue;
    const t = times.machines.get(name) ?? {};
    const cluster = m.spec?.clusterName ?? "";
    t.clusterReady ??= times.clusters.get(cluster);
    t.applied ??= times.applied.get(cluster);
    t.seen ??= now;
    if (m.spec?.bootstrap?.dataSecretName) t.bootstrapReady ??= now;
    if (infraReadyFor.has(name)) t.infraReady ??= now;
    if (m.status?.initialization?.infrastructureProvisioned === true) t.provisioned ??= now;
    times.machines.set(name, t);
  }
}

const GAPS: Array<[string, (t: StageTimes) => number | undefined]> = [
  ["first apply -> its cluster's objects applied", (t) => t.applied],
  ["objects applied -> infra cluster provisioned", (t) => diff(t.clusterReady, t.applied)],
  ["infra cluster provisioned -> Machine seen", (t) => diff(t.seen, t.clusterReady)],
  ["seen -> bootstrap data", (t) => diff(t.bootstrapReady, t.seen)],
  ["bootstrap data -> infra machine provisioned", (t) => diff(t.infraReady, t.bootstrapReady)],
  ["infra machine provisioned -> Machine provisioned", (t) => diff(t.provisioned, t.infraReady)],
];

function diff(later: number | undefined, earlier: number | undefined): number | undefined {
  return later === undefined || earlier === undefined ? undefined : Math.max(0, later - earlier);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A table of each gap's median, 90th percentile and maximum, and its mean over the last tenth to be provisioned. */
export function renderStageSummary(times: StageTracking): string[] {
  const all = [...times.machines.values()];
  const byEnd = all.filter((t) => t.provisioned !== undefined).sort((a, b) => a.provisioned! - b.provisioned!);
  const tail = byEnd.slice(-Math.max(1, Math.ceil(byEnd.length / 10)));
  const lines = [
    `  Where each machine's time went (${all.length} machines, a poll 250 ms after the last one ended):`,
    "  | stage | median | p90 | max | mean of the last tenth provisioned |",
    "  |---|---:|---:|---:|---:|",
  ];
  for (const [label, gap] of GAPS) {
    const values = all.map(gap).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const tailValues = tail.map(gap).filter((v): v is number => v !== undefined);
    const tailMean = tailValues.length ? tailValues.reduce((a, b) => a + b, 0) / tailValues.length : 0;
    lines.push(`  | ${label} | ${seconds(quantile(values, 0.5))} | ${seconds(quantile(values, 0.9))} | ${seconds(values.at(-1) ?? 0)} | ${seconds(tailMean)} |`);
  }
  return lines;
}
