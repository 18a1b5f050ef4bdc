/**
 * Controller benchmark (`npm run bench`): N clusters x (control planes + workers) against the simulator with
 * injected latency and a server build time, on the local etcd + kube-apiserver, with the REAL Cluster API managers
 * (core, kubeadm bootstrap, kubeadm control plane) and the workload-cluster emulator, and our controllers in a child
 * process (so their memory and CPU are theirs alone). Measures, per phase, the time until the clusters' Nodes are
 * Ready (the emulated workload clusters' API servers report them), OpenStack requests per machine by service and
 * method (the simulator's request counts), the controllers' peak RSS and CPU time, then deletes everything and checks
 * nothing is left. Needs what `capo demo` needs (root, for the managers' private network namespace).
 *
 * Flags: --clusters N (4) --machines N (per cluster: 3 control planes when N >= 4, else 1; the rest workers)
 *        --control-planes N (3) --workers N (3) --latency-ms MS (50) --build-ms MS (5000) --timeout-min M (20)
 *        --no-write (print only; default: replace the "Controllers" section of BENCHMARKS.md)
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { applyObjects } from "../src/demo/apply.js";
import { simClusterOptions } from "../src/demo/cluster-options.js";
import { defaultAsCapiWebhooksWould } from "../src/demo/capi-defaults.js";
import { StandInTypes } from "../src/demo/capi-types.js";
import { allNodesReady, readClusterView, type ClusterView } from "../src/demo/cluster-view.js";
import type { RealCapi } from "../src/demo/real-capi.js";
import { startLocalEnvironment, type LocalEnvironment } from "../src/demo/environment.js";
import { fetchInventory } from "../src/demo/report.js";
import { generateCluster } from "../src/manifests/generate/index.js";
import { KubeClient } from "../src/runtime/index.js";
import { DEFAULT_QUOTAS, type QuotaLimits } from "../src/sim/config.js";
import { repoRoot } from "../src/testenv/index.js";
import type { ControllerMessage, ControllerUsage } from "./controller-process.js";

const NAMESPACE = "default";
const PROJECT = "demo";

interface Options {
  clusters: number;
  controlPlanes: number;
  workers: number;
  latencyMs: number;
  buildMs: number;
  timeoutMs: number;
  write: boolean;
  argv: string[];
}

export function parseArgs(argv: string[]): Options {
  const num = (flag: string, dflt: number, min = 0): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return dflt;
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag} must be a whole number >= ${min}; got "${argv[i + 1] ?? ""}"`);
    return v;
  };
  const known = ["--clusters", "--machines", "--control-planes", "--workers", "--latency-ms", "--build-ms", "--timeout-min", "--no-write"];
  for (const a of argv) if (a.startsWith("--") && !known.includes(a)) throw new Error(`unknown flag ${a}; known: ${known.join(" ")}`);
  const machines = num("--machines", 0, 1);
  const cpDefault = machines ? (machines >= 4 ? 3 : 1) : 3;
  const controlPlanes = num("--control-planes", cpDefault, 1);
  const workers = num("--workers", machines ? Math.max(0, machines - controlPlanes) : 3);
  return {
    clusters: num("--clusters", 4, 1),
    controlPlanes,
    workers,
    latencyMs: num("--latency-ms", 50),
    buildMs: num("--build-ms", 5000),
    timeoutMs: num("--timeout-min", 20, 1) * 60_000,
    write: !argv.includes("--no-write"),
    argv,
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const cpuSecs = (u: ControllerUsage): number => (u.cpuUserUs + u.cpuSystemUs) / 1e6;

/** The controllers in a child process, talked to over IPC. */
class ControllerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly controllers: string[],
    readonly idle: ControllerUsage,
  ) {}

  static async start(kubeconfigPath: string, logPath: string): Promise<ControllerProcess> {
    const script = join(dirname(fileURLToPath(import.meta.url)), "controller-process.js");
    const child = fork(script, [kubeconfigPath, logPath], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const ready = await new Promise<Extract<ControllerMessage, { type: "ready" }>>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`controller process exited (code ${code ?? "?"}) before it was ready`)));
      child.on("message", (m: ControllerMessage) => {
        if (m.type === "ready") resolve(m);
        if (m.type === "error") reject(new Error(`controller process: ${m.message}`));
      });
    });
    return new ControllerProcess(child, ready.controllers, ready.usage);
  }

  private ask<T extends ControllerMessage["type"]>(type: "usage" | "stop", answer: T): Promise<Extract<ControllerMessage, { type: T }>> {
    return new Promise((resolve) => {
      const on = (m: ControllerMessage) => {
        if (m.type === answer) {
          this.child.off("message", on);
          resolve(m as Extract<ControllerMessage, { type: T }>);
        }
      };
      this.child.on("message", on);
      this.child.send({ type });
    });
  }

  async usage(): Promise<ControllerUsage> {
    return (await this.ask("usage", "usage")).usage;
  }

  async stop(): Promise<ControllerUsage> {
    const { usage } = await this.ask("stop", "stopped");
    await new Promise<void>((r) => (this.child.exitCode !== null ? r() : this.child.once("exit", () => r())));
    return usage;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

export interface RequestCount {
  service: string;
  method: string;
  path: string;
  count: number;
}

async function simRequests(adminUrl: string): Promise<{ total: number; counts: RequestCount[] }> {
  const res = await fetch(`${adminUrl}/requests`);
  return (await res.json()) as { total: number; counts: RequestCount[] };
}

async function resetSimRequests(adminUrl: string): Promise<void> {
  await fetch(`${adminUrl}/requests`, { method: "DELETE" });
}

export function unlimitedQuotas(): Partial<QuotaLimits> {
  return Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((k) => [k, -1])) as Partial<QuotaLimits>;
}

interface Results {
  opts: Options;
  machines: number;
  controllers: string[];
  capiVersion: string;
  applyMs: number;
  phases: Phases;
  deleteMs: number;
  leftovers: Record<string, number>;
  create: { total: number; counts: RequestCount[] };
  del: { total: number; counts: RequestCount[] };
  idle: ControllerUsage;
  afterCreate: ControllerUsage;
  final: ControllerUsage;
  load: number[];
}

/** When each phase was first reached, in ms after the apply started. */
interface Phases {
  firstInfra: number;
  allInfra: number;
  /** The first control-plane Node Ready in some cluster / in every cluster (its control plane initialized). */
  firstNode: number;
  firstControlPlaneEverywhere: number;
  /** Every cluster has all its control-plane Nodes Ready (KCP scaled up one machine at a time). */
  allControlPlanes: number;
  /** Every Node of every cluster Ready (workers included), every Machine Running with its nodeRef. */
  allNodes: number;
}

export async function waitUntil(what: string, deadline: number, check: () => boolean | Promise<boolean>, onTick?: () => void): Promise<number> {
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    onTick?.();
    await new Promise((r) => setTimeout(r, 250));
  }
}

const clusterName = (i: number): string => `bench-${String(i).padStart(2, "0")}`;
const readyControlPlanes = (v: ClusterView): number => v.nodes.filter((n) => n.controlPlane && n.ready).length;

/** Polls every cluster's view until all Nodes are Ready, recording each phase the first time it is reached. */
async function waitForNodes(kube: KubeClient, capi: RealCapi, opts: Options, t0: number): Promise<Phases> {
  const perCluster = opts.controlPlanes + opts.workers;
  const at: Partial<Record<keyof Phases, number>> = {};
  let views: ClusterView[] = [];
  let lastLine = "";
  const progress = (): void => {
    const line =
      `clusters provisioned ${views.filter((v) => v.infrastructureProvisioned).length}/${opts.clusters}, ` +
      `control-plane Nodes Ready ${views.reduce((n, v) => n + readyControlPlanes(v), 0)}/${opts.clusters * opts.controlPlanes}, ` +
      `all Nodes Ready ${views.reduce((n, v) => n + v.nodes.filter((x) => x.ready).length, 0)}/${opts.clusters * perCluster}`;
    if (line !== lastLine) say(`  ${Math.round((Date.now() - t0) / 1000)} s: ${line}`);
    lastLine = line;
  };
  const mark = (k: keyof Phases, reached: boolean): void => {
    if (reached) at[k] ??= Date.now() - t0;
  };
  await waitUntil("all Nodes Ready", t0 + opts.timeoutMs, async () => {
    views = await Promise.all(Array.from({ length: opts.clusters }, (_, i) => readClusterView(kube, capi, NAMESPACE, clusterName(i))));
    mark("firstInfra", views.some((v) => v.infrastructureProvisioned));
    mark("allInfra", views.every((v) => v.infrastructureProvisioned));
    mark("firstNode", views.some((v) => readyControlPlanes(v) > 0));
    mark("firstControlPlaneEverywhere", views.every((v) => readyControlPlanes(v) > 0));
    mark("allControlPlanes", views.every((v) => readyControlPlanes(v) === opts.controlPlanes));
    mark("allNodes", views.every((v) => allNodesReady(v, perCluster)));
    return at.allNodes !== undefined;
  }, progress);
  progress();
  const all = at.allNodes ?? Date.now() - t0;
  return {
    firstInfra: at.firstInfra ?? all,
    allInfra: at.allInfra ?? all,
    firstNode: at.firstNode ?? all,
    firstControlPlaneEverywhere: at.firstControlPlaneEverywhere ?? all,
    allControlPlanes: at.allControlPlanes ?? all,
    allNodes: all,
  };
}

async function generateAll(opts: Options, cloudsFile: string): Promise<KubernetesObject[]> {
  const objects: KubernetesObject[] = [];
  for (let i = 0; i < opts.clusters; i++) {
    const g = await generateCluster(
      simClusterOptions({ clusterName: clusterName(i), namespace: NAMESPACE, controlPlanes: opts.controlPlanes, workers: opts.workers, cloudsFile }),
    );
    // CAPI's webhooks are not reachable (src/demo/capi-defaults.ts): store what its defaulting would.
    objects.push(...(g.objects.map(defaultAsCapiWebhooksWould) as KubernetesObject[]));
  }
  return objects;
}

/** Deletes every Cluster (the real managers delete Machines, our controllers the servers and the rest). */
async function deleteAll(kube: KubeClient, opts: Options, adminUrl: string): Promise<{ deleteMs: number; leftovers: Record<string, number> }> {
  const d0 = Date.now();
  for (let i = 0; i < opts.clusters; i++) await kube.delete(StandInTypes.cluster, NAMESPACE, clusterName(i));
  const deletedAt = await waitUntil("deletion", d0 + opts.timeoutMs, async () => {
    const left = await kube.list(StandInTypes.cluster, { namespace: NAMESPACE });
    return left.items.length === 0;
  });
  const inventory = await fetchInventory(adminUrl, PROJECT);
  const leftovers = Object.fromEntries(Object.entries(inventory?.counts ?? {}).filter(([, n]) => n > 0));
  say(`- all clusters deleted in ${secs(deletedAt - d0)}; OpenStack resources left: ${JSON.stringify(leftovers)}`);
  return { deleteMs: deletedAt - d0, leftovers };
}

async function run(opts: Options): Promise<Results> {
  const total = opts.clusters * (opts.controlPlanes + opts.workers);
  say(
    `bench: ${opts.clusters} clusters x (${opts.controlPlanes} control plane + ${opts.workers} workers) = ${total} machines; ` +
      `simulator latency ${opts.latencyMs} ms per request, server build ${opts.buildMs} ms; real Cluster API managers + emulator`,
  );
  const load = loadavg();
  let env: LocalEnvironment | undefined;
  let controllers: ControllerProcess | undefined;
  let kube: KubeClient | undefined;
  try {
    env = await startLocalEnvironment({
      simConfig: { quotas: unlimitedQuotas(), timing: { buildDelayMs: opts.buildMs } },
      faults: { latencyMs: { "*": opts.latencyMs } },
      startControllers: false,
      realCapi: true,
      onStep: (m) => say(`- ${m}`),
    });
    const missing = env.missingControllers;
    if (missing.length > 0) throw new Error(`controllers not registered in src/controllers/index.ts: ${missing.join(", ")}`);
    if (!env.capi) throw new Error("the local environment started without the Cluster API managers");
    controllers = await ControllerProcess.start(env.controlPlane.kubeconfigPath, env.controllerLogPath);
    say(`- controllers in child process: ${controllers.controllers.join(", ")} (log ${env.controllerLogPath})`);
    kube = new KubeClient(env.kubeConfig, { userAgent: "capo-bench" });
    const objects = await generateAll(opts, env.cloudsYamlPath);

    await resetSimRequests(env.sim.adminUrl);
    const t0 = Date.now();
    await applyObjects(kube, objects, "capo-bench");
    const applyMs = Date.now() - t0;
    say(`- applied ${objects.length} objects in ${secs(applyMs)}`);
    const phases = await waitForNodes(kube, env.capi, opts, t0);
    const create = await simRequests(env.sim.adminUrl);
    const afterCreate = await controllers.usage();
    say(`- all ${total} Nodes Ready ${secs(phases.allNodes)} after the apply started`);

    await resetSimRequests(env.sim.adminUrl);
    const { deleteMs, leftovers } = await deleteAll(kube, opts, env.sim.adminUrl);
    const del = await simRequests(env.sim.adminUrl);
    const { idle, controllers: names } = controllers;
    const final = await controllers.stop();
    controllers = undefined;
    return { opts, machines: total, controllers: names, capiVersion: env.bins.capiVersion, applyMs, phases, deleteMs, leftovers, create, del, idle, afterCreate, final, load };
  } finally {
    controllers?.kill();
    kube?.close();
    await env?.stop();
  }
}

function byServiceMethod(counts: RequestCount[]): { service: string; method: string; count: number }[] {
  const m = new Map<string, { service: string; method: string; count: number }>();
  for (const c of counts) {
    if (c.service === "admin") continue;
    const k = `${c.service} ${c.method}`;
    const e = m.get(k) ?? { service: c.service, method: c.method, count: 0 };
    e.count += c.count;
    m.set(k, e);
  }
  return [...m.values()].sort((a, b) => a.service.localeCompare(b.service) || b.count - a.count);
}

function openStackTotal(counts: RequestCount[]): number {
  return counts.filter((c) => c.service !== "admin").reduce((n, c) => n + c.count, 0);
}

export function renderSection(r: Results): string {
  const o = r.opts;
  const per = (n: number) => (n / r.machines).toFixed(2);
  const flags = o.argv.filter((a) => a !== "--no-write").join(" ");
  const lines: string[] = [];
  lines.push(`Command: \`npm run bench${flags ? ` -- ${flags}` : ""}\` (= \`npm run build && node dist/bench/run.js${flags ? ` ${flags}` : ""}\`)`);
  lines.push("");
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, Node ${process.version}, load average at start ${r.load.map((l) => l.toFixed(2)).join(" / ")}. ` +
      `Local etcd + kube-apiserver; the simulator with ${o.latencyMs} ms added latency on every OpenStack request and ${o.buildMs} ms server ` +
      `(and load balancer) build time; the real Cluster API ${r.capiVersion} core, kubeadm bootstrap and kubeadm control-plane managers ` +
      "with the workload-cluster emulator (src/emulator: servers boot their kubeadm user data and register Nodes; times are read by " +
      `polling every 250 ms); our controllers, ${r.controllers.join(", ")} (their defaults), ` +
      "in a child process of their own, so RSS and CPU below are theirs alone.",
  );
  lines.push("");
  const p = r.phases;
  lines.push("| measure (times after the apply started) | value |");
  lines.push("|---|---|");
  lines.push(`| clusters × machines | ${o.clusters} × (${o.controlPlanes} control plane + ${o.workers} worker${o.workers === 1 ? "" : "s"}) = ${r.machines} machines |`);
  lines.push(`| apply of all manifests | ${secs(r.applyMs)} |`);
  lines.push(`| cluster infrastructure provisioned (network, router, security groups, LB, endpoint) | first cluster ${secs(p.firstInfra)}, all ${o.clusters} ${secs(p.allInfra)} |`);
  lines.push(`| first control-plane Node Ready (control plane initialized) | first cluster ${secs(p.firstNode)}, all ${o.clusters} ${secs(p.firstControlPlaneEverywhere)} |`);
  lines.push(`| all ${o.clusters * o.controlPlanes} control-plane Nodes Ready (KCP scales up one machine at a time) | ${secs(p.allControlPlanes)} |`);
  lines.push(`| **all ${r.machines} Nodes Ready** (workers included; every Machine Running with its nodeRef) | **${secs(p.allNodes)}** |`);
  lines.push(`| all clusters deleted (servers, ports, LBs, networks ... gone) | ${secs(r.deleteMs)} |`);
  lines.push(`| OpenStack resources left after delete | ${Object.keys(r.leftovers).length === 0 ? "none" : JSON.stringify(r.leftovers)} |`);
  const createTotal = openStackTotal(r.create.counts);
  const delTotal = openStackTotal(r.del.counts);
  lines.push(`| OpenStack requests, provisioning | ${createTotal} (${per(createTotal)} per machine) |`);
  lines.push(`| OpenStack requests, deletion | ${delTotal} (${per(delTotal)} per machine) |`);
  lines.push(`| controller peak RSS (getrusage maxrss) | ${(r.final.maxRssKiB / 1024).toFixed(0)} MiB (idle after start: ${(r.idle.maxRssKiB / 1024).toFixed(0)} MiB) |`);
  lines.push(`| controller peak heap used (sampled every 250 ms) | ${mib(r.final.peakHeapUsedBytes)} |`);
  lines.push(
    `| controller CPU time (user + system) | ${cpuSecs(r.afterCreate).toFixed(1)} s until all Nodes were Ready, ` +
      `${cpuSecs(r.final).toFixed(1)} s in total with deletion |`,
  );
  lines.push("");
  lines.push(`OpenStack requests per machine by service and method (totals divided by ${r.machines}; cluster-level work is included):`);
  lines.push("");
  lines.push("| service | method | provisioning | per machine | deletion | per machine |");
  lines.push("|---|---|---:|---:|---:|---:|");
  const del = new Map(byServiceMethod(r.del.counts).map((x) => [`${x.service} ${x.method}`, x.count]));
  const create = byServiceMethod(r.create.counts);
  const keys = new Set([...create.map((x) => `${x.service} ${x.method}`), ...del.keys()]);
  for (const k of [...keys].sort()) {
    const [service, method] = k.split(" ");
    const c = create.find((x) => `${x.service} ${x.method}` === k)?.count ?? 0;
    const d = del.get(k) ?? 0;
    lines.push(`| ${service} | ${method} | ${c} | ${per(c)} | ${d} | ${per(d)} |`);
  }
  lines.push("");
  lines.push("Most frequent requests while provisioning:");
  lines.push("");
  lines.push("| service | method | path | requests | per machine |");
  lines.push("|---|---|---|---:|---:|");
  for (const c of r.create.counts.filter((x) => x.service !== "admin").sort((a, b) => b.count - a.count).slice(0, 12)) {
    lines.push(`| ${c.service} | ${c.method} | \`${c.path}\` | ${c.count} | ${per(c.count)} |`);
  }
  return lines.join("\n");
}

const START = "<!-- controllers-bench:start -->";
const END = "<!-- controllers-bench:end -->";

/** Replaces the Controllers section between its markers (adding the section if there is none); other sections stay. */
export function replaceSection(doc: string, body: string): string {
  const block = `${START}\n${body}\n${END}`;
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  if (s >= 0 && e > s) return doc.slice(0, s) + block + doc.slice(e + END.length);
  const base = doc.trim() ? doc.replace(/\s*$/, "\n") : "# Benchmarks\n";
  return `${base}\n## Controllers\n\n${block}\n`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const r = await run(opts);
  const section = renderSection(r);
  say("");
  say(section);
  if (opts.write) {
    const file = join(repoRoot(), "BENCHMARKS.md");
    let doc = "";
    try {
      doc = readFileSync(file, "utf8");
    } catch {
      // no file yet
    }
    writeFileSync(file, replaceSection(doc, section));
    say(`\nwrote the Controllers section of ${file}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
