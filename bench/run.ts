/**
 * Controller benchmark (`npm run bench`): N clusters x (control planes + workers) against the simulator with
 * injected latency and a server build time, on the local etcd + kube-apiserver, with the CAPI core stand-in playing
 * Cluster API's part and our controllers in a child process (so their memory and CPU are theirs alone). Measures the
 * time until every machine is provisioned, OpenStack requests per machine by service and method (the simulator's
 * request counts), the controllers' peak RSS and CPU time, then deletes everything and checks nothing is left.
 *
 * Flags: --clusters N (10) --machines N (per cluster: 3 control planes when N >= 4, else 1; the rest workers)
 *        --control-planes N (3) --workers N (5) --latency-ms MS (50) --build-ms MS (5000) --timeout-min M (20)
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
import { CapiCoreStandIn } from "../src/demo/capi-core-stand-in.js";
import { StandInTypes } from "../src/demo/capi-types.js";
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
  const workers = num("--workers", machines ? Math.max(0, machines - controlPlanes) : 5);
  return {
    clusters: num("--clusters", 10, 1),
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

interface RequestCount {
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

function unlimitedQuotas(): Partial<QuotaLimits> {
  return Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((k) => [k, -1])) as Partial<QuotaLimits>;
}

interface Results {
  opts: Options;
  machines: number;
  controllers: string[];
  applyMs: number;
  firstInfraMs: number;
  infraMs: number;
  firstMachineMs: number;
  allMachinesMs: number;
  deleteMs: number;
  leftovers: Record<string, number>;
  create: { total: number; counts: RequestCount[] };
  del: { total: number; counts: RequestCount[] };
  idle: ControllerUsage;
  afterCreate: ControllerUsage;
  final: ControllerUsage;
  load: number[];
}

async function waitUntil(what: string, deadline: number, check: () => boolean | Promise<boolean>, onTick?: () => void): Promise<number> {
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    onTick?.();
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function run(opts: Options): Promise<Results> {
  const machinesPerCluster = opts.controlPlanes + opts.workers;
  const total = opts.clusters * machinesPerCluster;
  say(
    `bench: ${opts.clusters} clusters x (${opts.controlPlanes} control plane + ${opts.workers} workers) = ${total} machines; ` +
      `simulator latency ${opts.latencyMs} ms per request, server build ${opts.buildMs} ms`,
  );
  const load = loadavg();
  let env: LocalEnvironment | undefined;
  let controllers: ControllerProcess | undefined;
  let standIn: CapiCoreStandIn | undefined;
  const client = { current: undefined as KubeClient | undefined };
  try {
    env = await startLocalEnvironment({
      simConfig: { quotas: unlimitedQuotas(), timing: { buildDelayMs: opts.buildMs } },
      faults: { latencyMs: { "*": opts.latencyMs } },
      startControllers: false,
      onStep: (m) => say(`- ${m}`),
    });
    const missing = env.missingControllers;
    if (missing.length > 0) throw new Error(`controllers not registered in src/controllers/index.ts: ${missing.join(", ")}`);
    controllers = await ControllerProcess.start(env.controlPlane.kubeconfigPath, env.controllerLogPath);
    say(`- controllers in child process: ${controllers.controllers.join(", ")} (log ${env.controllerLogPath})`);
    const kube = new KubeClient(env.kubeConfig, { userAgent: "capo-bench" });
    client.current = kube;

    const objects: KubernetesObject[] = [];
    for (let i = 0; i < opts.clusters; i++) {
      const g = await generateCluster(
        simClusterOptions({
          clusterName: `bench-${String(i).padStart(2, "0")}`,
          namespace: NAMESPACE,
          controlPlanes: opts.controlPlanes,
          workers: opts.workers,
          cloudsFile: env.cloudsYamlPath,
        }),
      );
      objects.push(...(g.objects as KubernetesObject[]));
    }

    await resetSimRequests(env.sim.adminUrl);
    const t0 = Date.now();
    await applyObjects(kube, objects, "capo-bench");
    const applyMs = Date.now() - t0;
    say(`- applied ${objects.length} objects in ${secs(applyMs)}`);
    const si = new CapiCoreStandIn({ kubeConfig: env.kubeConfig, namespace: NAMESPACE, intervalMs: 250 });
    standIn = si;
    si.start();

    const deadline = t0 + opts.timeoutMs;
    let lastLine = "";
    const progress = () => {
      const v = si.clusters();
      const line = `  ${Math.round((Date.now() - t0) / 1000)} s: clusters provisioned ${v.filter((c) => c.infrastructureProvisioned).length}/${opts.clusters}, machines provisioned ${v.reduce((n, c) => n + c.machinesProvisioned, 0)}/${total}`;
      if (line.replace(/^\s+\d+ s/, "") !== lastLine.replace(/^\s+\d+ s/, "")) say(line);
      lastLine = line;
    };
    // One poll records every milestone the first time it is reached.
    const at: { firstInfra?: number; allInfra?: number; firstMachine?: number; allMachines?: number } = {};
    const allAt = await waitUntil(
      "all machines",
      deadline,
      () => {
        const v = si.clusters();
        const now = Date.now();
        if (v.some((c) => c.infrastructureProvisioned)) at.firstInfra ??= now;
        if (v.length === opts.clusters && v.every((c) => c.infrastructureProvisioned)) at.allInfra ??= now;
        if (v.some((c) => c.machinesProvisioned > 0)) at.firstMachine ??= now;
        return v.length === opts.clusters && v.every((c) => c.machines === machinesPerCluster && c.machinesProvisioned === machinesPerCluster);
      },
      progress,
    );
    progress();
    const create = await simRequests(env.sim.adminUrl);
    const afterCreate = await controllers.usage();
    say(`- all ${total} machines provisioned ${secs(allAt - t0)} after the apply started`);

    await resetSimRequests(env.sim.adminUrl);
    const d0 = Date.now();
    for (let i = 0; i < opts.clusters; i++) await kube.delete(StandInTypes.cluster, NAMESPACE, `bench-${String(i).padStart(2, "0")}`);
    const adminUrl = env.sim.adminUrl;
    const deletedAt = await waitUntil("deletion", d0 + opts.timeoutMs, async () => {
      const left = await kube.list(StandInTypes.cluster, { namespace: NAMESPACE });
      return left.items.length === 0;
    });
    const del = await simRequests(adminUrl);
    const inventory = await fetchInventory(adminUrl, PROJECT);
    const leftovers = Object.fromEntries(Object.entries(inventory?.counts ?? {}).filter(([, n]) => n > 0));
    say(`- all clusters deleted in ${secs(deletedAt - d0)}; OpenStack resources left: ${JSON.stringify(leftovers)}`);

    await si.stop();
    standIn = undefined;
    const { idle, controllers: names } = controllers;
    const final = await controllers.stop();
    controllers = undefined;
    return {
      opts,
      machines: total,
      controllers: names,
      applyMs,
      firstInfraMs: (at.firstInfra ?? allAt) - t0,
      infraMs: (at.allInfra ?? allAt) - t0,
      firstMachineMs: (at.firstMachine ?? allAt) - t0,
      allMachinesMs: allAt - t0,
      deleteMs: deletedAt - d0,
      leftovers,
      create,
      del,
      idle,
      afterCreate,
      final,
      load,
    };
  } finally {
    await standIn?.stop();
    controllers?.kill();
    client.current?.close();
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
      `(and load balancer) build time; Cluster API's part played by the CAPI core stand-in (src/demo/capi-core-stand-in.ts, polling every ` +
      `250 ms, so times carry up to ~0.5 s of polling delay); our controllers, ${r.controllers.join(", ")} (their defaults), ` +
      "in a child process of their own, so RSS and CPU below are theirs alone.",
  );
  lines.push("");
  lines.push("| measure | value |");
  lines.push("|---|---|");
  lines.push(`| clusters × machines | ${o.clusters} × (${o.controlPlanes} control plane + ${o.workers} worker${o.workers === 1 ? "" : "s"}) = ${r.machines} machines |`);
  lines.push(`| apply of all manifests | ${secs(r.applyMs)} |`);
  lines.push(
    `| cluster infrastructure provisioned (network, router, security groups, LB, endpoint) | first cluster ${secs(r.firstInfraMs)}, ` +
      `all ${o.clusters} ${secs(r.infraMs)} after apply |`,
  );
  lines.push(`| first machine provisioned | ${secs(r.firstMachineMs)} after apply |`);
  lines.push(`| **all ${r.machines} machines provisioned** | **${secs(r.allMachinesMs)}** after apply |`);
  lines.push(`| all clusters deleted (servers, ports, LBs, networks ... gone) | ${secs(r.deleteMs)} |`);
  lines.push(`| OpenStack resources left after delete | ${Object.keys(r.leftovers).length === 0 ? "none" : JSON.stringify(r.leftovers)} |`);
  const createTotal = openStackTotal(r.create.counts);
  const delTotal = openStackTotal(r.del.counts);
  lines.push(`| OpenStack requests, provisioning | ${createTotal} (${per(createTotal)} per machine) |`);
  lines.push(`| OpenStack requests, deletion | ${delTotal} (${per(delTotal)} per machine) |`);
  lines.push(`| controller peak RSS (getrusage maxrss) | ${(r.final.maxRssKiB / 1024).toFixed(0)} MiB (idle after start: ${(r.idle.maxRssKiB / 1024).toFixed(0)} MiB) |`);
  lines.push(`| controller peak heap used (sampled every 250 ms) | ${mib(r.final.peakHeapUsedBytes)} |`);
  lines.push(
    `| controller CPU time (user + system) | ${cpuSecs(r.afterCreate).toFixed(1)} s until all machines were provisioned, ` +
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
