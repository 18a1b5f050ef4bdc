/**
 * Where a machine's time to provisioned goes, for `bench:upstream --diagnose`: the first poll at which each Machine
 * was seen, had its bootstrap data, had its infrastructure machine report provisioned, and was marked
 * infrastructure-provisioned by Cluster API. The gaps tell a provider that is slow to build from a Cluster API that
 * is slow to notice.
 */
import type { KubernetesObject } from "@kubernetes/client-node";

export interface StageTimes {
  seen?: number;
  bootstrapReady?: number;
  infraReady?: number;
  provisioned?: number;
}

interface MachineView extends KubernetesObject {
  spec?: { bootstrap?: { dataSecretName?: string } };
  status?: { initialization?: { infrastructureProvisioned?: boolean } };
}

interface InfraMachineView extends KubernetesObject {
  status?: { ready?: boolean; initialization?: { provisioned?: boolean } };
}

/** v1beta1 (upstream) says `status.ready`; the v1beta2 contract says `status.initialization.provisioned`. */
function infraProvisioned(o: InfraMachineView): boolean {
  return o.status?.initialization?.provisioned === true || o.status?.ready === true;
}

function ownerMachine(o: KubernetesObject): string | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.kind === "Machine")?.name;
}

/** Marks, per Machine name, each stage the first time a poll at `now` (ms since the first apply) finds it. */
export function observeStages(times: Map<string, StageTimes>, machines: MachineView[], infra: InfraMachineView[], now: number): void {
  const infraReadyFor = new Set(infra.filter(infraProvisioned).map(ownerMachine));
  for (const m of machines) {
    const name = m.metadata?.name;
    if (!name) continue;
    const t = times.get(name) ?? {};
    t.seen ??= now;
    if (m.spec?.bootstrap?.dataSecretName) t.bootstrapReady ??= now;
    if (infraReadyFor.has(name)) t.infraReady ??= now;
    if (m.status?.initialization?.infrastructureProvisioned === true) t.provisioned ??= now;
    times.set(name, t);
  }
}

const GAPS: Array<[string, (t: StageTimes) => number | undefined]> = [
  ["apply -> Machine seen", (t) => t.seen],
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
export function renderStageSummary(times: Map<string, StageTimes>): string[] {
  const all = [...times.values()];
  const byEnd = all.filter((t) => t.provisioned !== undefined).sort((a, b) => a.provisioned! - b.provisioned!);
  const tail = byEnd.slice(-Math.max(1, Math.ceil(byEnd.length / 10)));
  const lines = [
    `  Where each machine's time went (${all.length} machines, polled every 250 ms):`,
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
