/**
 * Side-by-side benchmark (`npm run bench:upstream`): upstream CAPO v0.14.2 (built by hack/testbins.sh with
 * CAPO_TESTBIN_WITH_UPSTREAM_CAPO=1) and capo-ts, ONE AT A TIME, each against a fresh world: the same simulator
 * configuration (build delay, unlimited quotas), a fresh etcd + kube-apiserver with that provider's CRDs, the real
 * Cluster API v1.14.2 managers and the workload-cluster emulator in their network namespace, and the same without-lb
 * cluster shape rendered from each provider's own template. Each provider is its shipped manager with its defaults
 * (`capo controller` from dist/, upstream's manager binary), both with their default --sync-period (10 min).
 *
 * Per provider and cluster count it measures milestones (from the CAPI Machines), OpenStack requests per phase
 * (apply -> all machines provisioned, -> Nodes Ready, 60 s idle, delete) and by path template from the simulator's
 * request log, and the provider process's RSS and CPU from /proc.
 *
 * Flags: --clusters 1,10 (a run per count) --providers upstream,capo-ts (both, upstream first) --workers N (1) --build-ms MS (1000) --latency-ms MS (0)
 *        --idle-s S (60) --timeout-min M (10) --rounds R (1: runs of each provider per count, alternating who goes
 *        first; the time goals are judged on the medians) --no-write (print only; default: replace the section in BENCHMARKS.md
 *        that belongs to this set of cluster counts) --diagnose (when all machines are provisioned, print where each
 *        machine's time went (bench/machine-stages.ts), the CPU each program of the run used, the apiserver's requests
 *        per client from its audit log, and capo-ts's Kubernetes calls and reconcile times from its /metrics; implies
 *        --no-write, as serving metrics changes what is measured)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parse } from "yaml";
import { applyObjects } from "../src/demo/apply.js";
import { countAuditRequests, readAuditLog, renderAuditSummary } from "./apiserver-audit.js";
import { StandInTypes, type MachineObject } from "../src/demo/capi-types.js";
import { startLocalEnvironment, SIM_CLOUD_NAME, type LocalEnvironment } from "../src/demo/environment.js";
import { fetchInventory } from "../src/demo/report.js";
import { KubeClient, type ResourceType } from "../src/runtime/index.js";
import { ensureTestBins, repoRoot, type UpstreamCapoBins } from "../src/testenv/index.js";
import { externalNetworkId, ourCluster, upstreamCluster, type Provider } from "./cluster-shapes.js";
import { cpuByProgram, ProcSampler, type ProcUsage } from "./proc-usage.js";
import { cutPhase, type PhaseRequests } from "./request-log.js";
import { observeStages, renderStageSummary, type StageTracking } from "./machine-stages.js";
import { renderUpstreamSection, replaceMarkedSection, type RunPair } from "./upstream-report.js";
import { startCapoController } from "./capo-controller-process.js";
import { unlimitedQuotas, waitUntil } from "./run.js";
import { startUpstreamManager } from "./upstream-manager.js";

const NAMESPACE = "default";
const PROJECT = "demo";
export interface BenchOptions {
  clusterCounts: number[];
  providers: Provider[];
  workers: number;
  buildMs: number;
  latencyMs: number;
  idleMs: number;
  timeoutMs: number;
  /** Clusters whose manifests are applied at once. */
  applyParallel: number;
  write: boolean;
  diagnose: boolean;
  /** Runs of each provider per cluster count; the order alternates from round to round. */
  rounds: number;
  argv: string[];
}

export interface Milestones {
  firstCpProvisioned?: number;
  /** Half of the machines provisioned: how long a typical cluster waited, where `allProvisioned` is the slowest. */
  halfProvisioned?: number;
  allProvisioned?: number;
  allNodesReady?: number;
  deleted?: number;
}

export interface ProviderRun {
  provider: Provider;
  version: string;
  clusters: number;
  machines: number;
  milestones: Milestones;
  /** Apply -> every machine provisioned. */
  toProvisioned: PhaseRequests;
  /** Every machine provisioned -> every Node Ready (or the wait's end). */
  toNodes: PhaseRequests;
  idle: PhaseRequests;
  del: PhaseRequests;
  leftovers: Record<string, number>;
  start: ProcUsage;
  end: ProcUsage;
  load: number[];
}

export function parseArgs(argv: string[]): BenchOptions {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i < 0 ? undefined : argv[i + 1];
  };
  const num = (flag: string, dflt: number): number => {
    const v = value(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number >= 0; got "${v}"`);
    return n;
  };
  const known = ["--clusters", "--providers", "--workers", "--build-ms", "--latency-ms", "--idle-s", "--timeout-min", "--no-write", "--diagnose", "--rounds"];
  for (const a of argv) if (a.startsWith("--") && !known.includes(a)) throw new Error(`unknown flag ${a}; known: ${known.join(" ")}`);
  const clusterCounts = (value("--clusters") ?? "1,10").split(",").map(Number);
  if (clusterCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--clusters must be a list like 1,10`);
  const providers = (value("--providers") ?? "upstream,capo-ts").split(",");
  const bad = providers.find((p) => p !== "upstream" && p !== "capo-ts");
  if (bad !== undefined || providers.length === 0) throw new Error(`--providers takes upstream and/or capo-ts; got "${bad ?? ""}"`);
  return {
    clusterCounts,
    providers: providers as Provider[],
    workers: num("--workers", 1),
    buildMs: num("--build-ms", 1000),
    latencyMs: num("--latency-ms", 0),
    idleMs: num("--idle-s", 60) * 1000,
    timeoutMs: num("--timeout-min", 10) * 60_000,
    applyParallel: 10,
    write: !argv.includes("--no-write") && !argv.includes("--diagnose"),
    diagnose: argv.includes("--diagnose"),
    rounds: Math.max(1, num("--rounds", 1)),
    argv,
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

const clusterName = (i: number): string => `race-${String(i).padStart(3, "0")}`;

/** Per-machine stage times and what to list for them, only when diagnosing (the extra lists per poll are load of their own). */
interface StagePolling {
  times: StageTracking;
  infraMachine: ResourceType;
  infraCluster: ResourceType;
  t0: number;
}

interface MachineState {
  controlPlane: boolean;
  provisioned: boolean;
  nodeReady: boolean;
}

async function machineStates(kube: KubeClient, stages?: StagePolling): Promise<MachineState[]> {
  const list = await kube.list<MachineObject>(StandInTypes.machine, { namespace: NAMESPACE });
  if (stages) {
    const infra = await kube.list<KubernetesObject>(stages.infraMachine, { namespace: NAMESPACE });
    const infraClusters = await kube.list<KubernetesObject>(stages.infraCluster, { namespace: NAMESPACE });
    observeStages(stages.times, list.items, infra.items, infraClusters.items, Date.now() - stages.t0);
  }
  return list.items.map((m) => {
    const s = m.status as { initialization?: { infrastructureProvisioned?: boolean }; phase?: string; nodeRef?: { name?: string } } | undefined;
    return {
      controlPlane: m.metadata?.labels?.["cluster.x-k8s.io/control-plane"] !== undefined,
      provisioned: s?.initialization?.infrastructureProvisioned === true,
      nodeReady: s?.phase === "Running" && Boolean(s.nodeRef?.name),
    };
  });
}

/** Polls the Machines every 250 ms, marking each milestone the first time it holds; cuts the provisioning phase. */
async function waitForMachines(
  kube: KubeClient,
  adminUrl: string,
  machines: number,
  t0: number,
  deadline: number,
  m: Milestones,
  onAllProvisioned: () => Promise<void>,
  stages?: StagePolling,
): Promise<PhaseRequests> {
  let toProvisioned: PhaseRequests | undefined;
  let last = "";
  for (;;) {
    const states = await machineStates(kube, stages);
    const now = Date.now() - t0;
    if (states.some((s) => s.controlPlane && s.provisioned)) m.firstCpProvisioned ??= now;
    const provisioned = states.filter((s) => s.provisioned).length;
    if (provisioned * 2 >= machines) m.halfProvisioned ??= now;
    const ready = states.filter((s) => s.nodeReady).length;
    if (states.length === machines && provisioned === machines && m.allProvisioned === undefined) {
      m.allProvisioned = now;
      toProvisioned = await cutPhase(adminUrl);
      await onAllProvisioned();
    }
    if (states.length === machines && ready === machines) m.allNodesReady ??= now;
    const line = `machines ${states.length}/${machines}, provisioned ${provisioned}, Nodes Ready ${ready}`;
    if (line !== last) say(`  ${(now / 1000).toFixed(1)} s: ${line}`);
    last = line;
    if (m.allNodesReady !== undefined) break;
    if (Date.now() > deadline) {
      say(`  gave up waiting after ${(now / 1000).toFixed(0)} s (${line})`);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return toProvisioned ?? { total: 0, counts: [] };
}

interface RunningProvider {
  pid: number;
  version: string;
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** The metric families that tell a reconcile waiting on the apiserver from one waiting on OpenStack or on a worker. */
const DIAGNOSTIC_METRICS = [
  "rest_client_requests_total",
  "rest_client_request_duration_seconds_sum",
  "rest_client_request_duration_seconds_count",
  "controller_runtime_reconcile_total",
  "controller_runtime_reconcile_time_seconds_sum",
  "controller_runtime_reconcile_time_seconds_count",
  "workqueue_adds_total",
  "workqueue_retries_total",
  "openstack_requests_total",
];

/** Where the cores went from the first apply until every machine was provisioned. */
function printCpuByProgram(before: Map<string, number>, after: Map<string, number>, bench: NodeJS.CpuUsage): void {
  const rows = [...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const);
  rows.push(["this bench (simulator, applies, polling)", (bench.user + bench.system) / 1e6]);
  say("  CPU seconds by program, apply -> all provisioned:");
  for (const [name, s] of rows.sort((a, b) => b[1] - a[1])) say(`    ${s.toFixed(1).padStart(7)}  ${name}`);
}

async function printDiagnostics(metricsUrl: string): Promise<void> {
  const text = await fetch(metricsUrl).then((r) => r.text(), (e: unknown) => `unavailable: ${String(e)}`);
  const lines = text.split("\n").filter((l) => DIAGNOSTIC_METRICS.some((m) => l.startsWith(`${m}{`) || l.startsWith(`${m} `)));
  say("  capo-ts metrics at this point:");
  for (const l of lines) say(`    ${l}`);
}

async function startProvider(provider: Provider, env: LocalEnvironment, upstream: UpstreamCapoBins, diagnose: boolean): Promise<RunningProvider> {
  if (provider === "capo-ts") {
    const p = await startCapoController({ kubeconfigPath: env.controlPlane.kubeconfigPath, workDir: env.workDir, metrics: diagnose });
    const version = (JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string }).version;
    return { pid: p.pid, version, stop: p.stop, ...(p.metricsUrl ? { metricsUrl: p.metricsUrl } : {}) };
  }
  if (!env.capi) throw new Error("no Cluster API managers");
  const m = await startUpstreamManager({
    binary: upstream.manager,
    kubeconfigPath: env.controlPlane.kubeconfigPath,
    netnsPath: env.capi.netnsPath,
    simPort: Number(new URL(env.sim.url).port),
    workDir: env.workDir,
  });
  return { pid: m.pid, version: upstream.version, stop: m.stop };
}

/** Each cluster's objects, in apply order. */
async function renderClusters(provider: Provider, env: LocalEnvironment, upstream: UpstreamCapoBins, clusters: number, workers: number): Promise<KubernetesObject[][]> {
  const clouds = parse(readFileSync(env.cloudsYamlPath, "utf8")) as { clouds: Record<string, { auth: { username: string; password: string; project_name: string } }> };
  const auth = clouds.clouds[SIM_CLOUD_NAME]?.auth;
  if (!auth) throw new Error(`${env.cloudsYamlPath} has no cloud ${SIM_CLOUD_NAME}`);
  const netId = await externalNetworkId(env.sim.authUrl, { username: auth.username, password: auth.password, project: auth.project_name });
  const perCluster: KubernetesObject[][] = [];
  for (let i = 0; i < clusters; i++) {
    const o = { clusterName: clusterName(i), namespace: NAMESPACE, workers, cloudsFile: env.cloudsYamlPath, externalNetworkId: netId };
    perCluster.push(provider === "upstream" ? upstreamCluster(upstream.templateDir, o) : await ourCluster(o));
  }
  return perCluster;
}

/**
 * Applies `parallel` clusters at a time, each cluster's objects in order: one apply after another made the
 * 100-cluster run wait ten minutes for its own manifests (each apply passes CAPI's webhooks).
 */
async function applyClusters(kube: KubeClient, perCluster: KubernetesObject[][], parallel: number, onApplied?: (i: number) => void): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < perCluster.length; i = next++) {
      await applyObjects(kube, perCluster[i] ?? [], "capo-bench");
      onApplied?.(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, perCluster.length) }, lane));
}

async function runOne(provider: Provider, clusters: number, opts: BenchOptions, upstream: UpstreamCapoBins): Promise<ProviderRun> {
  const machines = clusters * (1 + opts.workers);
  say(`\n== ${provider}: ${clusters} cluster(s), ${machines} machines`);
  const load = loadavg();
  let env: LocalEnvironment | undefined;
  let running: RunningProvider | undefined;
  let kube: KubeClient | undefined;
  // Diagnosing compares what each provider asks of the apiserver; outside the env's work dir, which goes with it.
  const auditDir = opts.diagnose ? mkdtempSync(join(tmpdir(), "capo-bench-audit-")) : undefined;
  const auditLogPath = auditDir ? join(auditDir, "audit.log") : undefined;
  try {
    env = await startLocalEnvironment({
      ...(auditLogPath ? { auditLogPath } : {}),
      simConfig: { quotas: unlimitedQuotas(), timing: { buildDelayMs: opts.buildMs } },
      ...(opts.latencyMs > 0 ? { faults: { latencyMs: { "*": opts.latencyMs } } } : {}),
      startControllers: false,
      realCapi: true,
      ...(provider === "upstream" ? { infraCrdDir: upstream.crdDir } : {}),
      onStep: (m) => say(`- ${m}`),
    });
    kube = new KubeClient(env.kubeConfig, { userAgent: "capo-bench-upstream" });
    const objects = await renderClusters(provider, env, upstream, clusters, opts.workers);
    running = await startProvider(provider, env, upstream, opts.diagnose);
    const metricsUrl = running.metricsUrl;
    const sampler = new ProcSampler(running.pid);
    // Settle: the informers' first lists are part of starting, not of the apply.
    await new Promise((r) => setTimeout(r, 2000));
    const start = sampler.sample();
    say(`- ${provider} ${running.version} running (pid ${running.pid}), RSS ${(start.rssBytes / 2 ** 20).toFixed(0)} MiB`);

    await cutPhase(env.sim.adminUrl);
    const t0 = Date.now();
    // Upstream serves its infrastructure objects as v1beta1 (ours convert too, but each provider is read in its own).
    const version = provider === "upstream" ? "v1beta1" : "v1beta2";
    const stages: StagePolling | undefined = opts.diagnose
      ? {
          times: { machines: new Map(), clusters: new Map(), applied: new Map() },
          infraMachine: { ...StandInTypes.openStackMachine, version },
          infraCluster: { ...StandInTypes.openStackCluster, version },
          t0,
        }
      : undefined;
    const applying = applyClusters(kube, objects, opts.applyParallel, (i) => stages?.times.applied.set(clusterName(i), Date.now() - t0));
    const milestones: Milestones = {};
    // Machines are watched from the first apply on, so the first milestones do not wait for the last cluster's apply.
    const workDir = env.workDir;
    const cpuBefore = opts.diagnose ? cpuByProgram(workDir) : new Map<string, number>();
    const benchCpuBefore = process.cpuUsage();
    const diagnose = async (): Promise<void> => {
      if (!opts.diagnose) return;
      if (stages) for (const l of renderStageSummary(stages.times)) say(l);
      if (metricsUrl) await printDiagnostics(metricsUrl);
      printCpuByProgram(cpuBefore, cpuByProgram(workDir), process.cpuUsage(benchCpuBefore));
      if (auditLogPath) for (const l of renderAuditSummary(countAuditRequests(readAuditLog(auditLogPath), t0), 40)) say(l);
    };
    const [, toProvisioned] = await Promise.all([applying, waitForMachines(kube, env.sim.adminUrl, machines, t0, t0 + opts.timeoutMs, milestones, diagnose, stages)]);
    const toNodes = await cutPhase(env.sim.adminUrl);

    say(`- idling ${opts.idleMs / 1000} s`);
    await new Promise((r) => setTimeout(r, opts.idleMs));
    const idle = await cutPhase(env.sim.adminUrl);
    say(`  ${idle.total} OpenStack requests while idle`);

    const d0 = Date.now();
    for (let i = 0; i < clusters; i++) await kube.delete(StandInTypes.cluster, NAMESPACE, clusterName(i));
    try {
      await waitUntil("deletion", d0 + opts.timeoutMs, async () => (await kube!.list(StandInTypes.cluster, { namespace: NAMESPACE })).items.length === 0);
      milestones.deleted = Date.now() - d0;
    } catch {
      say("  the Clusters were not gone before the timeout");
    }
    const del = await cutPhase(env.sim.adminUrl);
    const inventory = await fetchInventory(env.sim.adminUrl, PROJECT);
    const leftovers = Object.fromEntries(Object.entries(inventory?.counts ?? {}).filter(([, n]) => n > 0));
    const end = sampler.stop();
    say(`- deleted in ${milestones.deleted === undefined ? "-" : `${(milestones.deleted / 1000).toFixed(1)} s`}; left: ${JSON.stringify(leftovers)}`);
    return { provider, version: running.version, clusters, machines, milestones, toProvisioned, toNodes, idle, del, leftovers, start, end, load };
  } finally {
    await running?.stop().catch(() => undefined);
    kube?.close();
    await env?.stop();
    if (auditDir) rmSync(auditDir, { recursive: true, force: true });
  }
}


async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const bins = await ensureTestBins({ withUpstreamCapo: true });
  const upstream = bins.upstreamCapo;
  if (!upstream) throw new Error("hack/testbins.sh built no upstream CAPO (run it with CAPO_TESTBIN_WITH_UPSTREAM_CAPO=1)");
  const runs: RunPair[][] = [];
  for (const n of opts.clusterCounts) {
    const rounds: RunPair[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      // Alternating who goes first keeps the machine's drift (other load, caches) out of the comparison.
      const order = r % 2 === 0 ? opts.providers : [...opts.providers].reverse();
      const pair: RunPair = { firstRun: order[0]! };
      if (opts.rounds > 1) say(`\n=== round ${r + 1} of ${opts.rounds}, ${n} cluster(s)`);
      for (const p of order) pair[p === "upstream" ? "up" : "ours"] = await runOne(p, n, opts, upstream);
      rounds.push(pair);
    }
    runs.push(rounds);
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, Node ${process.version}`;
  const section = renderUpstreamSection(runs, opts, machine, bins.capiVersion);
  say("");
  say(section);
  if (opts.write) {
    const file = join(repoRoot(), "BENCHMARKS.md");
    // The default run (1 and 10 clusters) and each other set of counts (e.g. the 100-cluster scale run) keep a section each.
    const counts = opts.clusterCounts.join("-");
    const name = counts === "1-10" ? "upstream-bench" : `upstream-bench-${counts}`;
    const heading = counts === "1-10" ? "Side by side with upstream CAPO" : `Side by side with upstream CAPO: ${opts.clusterCounts.join(", ")} clusters`;
    writeFileSync(file, replaceMarkedSection(readFileSync(file, "utf8"), name, heading, section));
    say(`\nwrote the ${name} section of ${file}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
