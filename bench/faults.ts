/**
 * Fault benchmark (`npm run bench:faults`, issue 11): puts each fault class on a cluster (1 control plane + 1 worker,
 * without-lb template) on the simulator for a while, lifts it, and measures how hard the controllers push against it
 * and how soon they recover. The local etcd + kube-apiserver, the CAPI core stand-in and our controllers (in this
 * process, with the defaults `capo controller` uses: 10-minute resync) run for the whole benchmark; each fault gets a
 * cluster of its own in a namespace of its own.
 *
 * Flags: --duration-s S (fault on for S seconds, 180) --settle-s S (not counted at the start: 60, at most a third of
 *        the duration) --recover-timeout-s S (300) --only slug[,slug] --no-write (print only; default: replace the
 *        "Fault benchmark" section of BENCHMARKS.md)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { applyObjects } from "../src/demo/apply.js";
import { CapiCoreStandIn } from "../src/demo/capi-core-stand-in.js";
import { StandInTypes } from "../src/demo/capi-types.js";
import { simClusterOptions } from "../src/demo/cluster-options.js";
import { startLocalEnvironment, type LocalEnvironment } from "../src/demo/environment.js";
import { OpenStackClusterType, OpenStackMachineType } from "../src/controllers/openstackmachine/types.js";
import { generateCluster } from "../src/manifests/generate/index.js";
import { CoreTypes, KubeClient } from "../src/runtime/index.js";
import { repoRoot } from "../src/testenv/index.js";
import { FAULTS, type FaultClass, type FaultContext } from "./fault-classes.js";
import { resetSimRequests, WriteCounter, type Snapshot } from "./fault-counters.js";

export interface FaultBenchOptions {
  durationMs: number;
  settleMs: number;
  recoverTimeoutMs: number;
  only: string[];
  write: boolean;
  argv: string[];
}

export interface FaultResult {
  fault: FaultClass;
  /** Counted from the end of the settle period to the lift. */
  windowMs: number;
  objects: number;
  requestsPerObjectPerMinute: number;
  keystoneLogins: number;
  writesPerMinute: number;
  eventsPerMinute: number;
  /** From the lift until the cluster and every machine are provisioned; undefined when that did not happen in time. */
  recoverMs: number | undefined;
}

export function parseFaultArgs(argv: string[]): FaultBenchOptions {
  const known = ["--duration-s", "--settle-s", "--recover-timeout-s", "--only", "--no-write"];
  for (const a of argv) if (a.startsWith("--") && !known.includes(a)) throw new Error(`unknown flag ${a}; known: ${known.join(" ")}`);
  const num = (flag: string, dflt: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return dflt * 1000;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} must be a positive number of seconds; got "${argv[i + 1] ?? ""}"`);
    return v * 1000;
  };
  const i = argv.indexOf("--only");
  const only = i >= 0 ? (argv[i + 1] ?? "").split(",").filter(Boolean) : [];
  const slugs = FAULTS.map((f) => f.slug);
  for (const s of only) if (!slugs.includes(s)) throw new Error(`--only ${s}: unknown fault; known: ${slugs.join(", ")}`);
  const durationMs = num("--duration-s", 180);
  return {
    durationMs,
    settleMs: Math.min(num("--settle-s", 60), durationMs / 3),
    recoverTimeoutMs: num("--recover-timeout-s", 300),
    only,
    write: !argv.includes("--no-write"),
    argv,
  };
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(deadline: number, check: () => boolean): Promise<number | undefined> {
  while (Date.now() < deadline) {
    if (check()) return Date.now();
    await sleep(250);
  }
  return undefined;
}

function perMinute(n: number, ms: number): number {
  return ms > 0 ? (n * 60_000) / ms : 0;
}

async function manifests(env: LocalEnvironment, fault: FaultClass, namespace: string): Promise<KubernetesObject[]> {
  const opts = simClusterOptions({ clusterName: `f-${fault.slug}`, namespace, flavor: "without-lb", controlPlanes: 1, workers: 1, cloudsFile: env.cloudsYamlPath });
  const g = await generateCluster({ ...opts, ...(fault.sshKeyName ? { sshKeyName: fault.sshKeyName } : {}) });
  return g.objects as KubernetesObject[];
}

async function runFault(env: LocalEnvironment, kube: KubeClient, fault: FaultClass, o: FaultBenchOptions): Promise<FaultResult> {
  const namespace = `fault-${fault.slug}`;
  await kube.create(CoreTypes.namespace, { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  const ctx: FaultContext = {
    adminUrl: env.sim.adminUrl,
    kube,
    namespace,
    clusterName: `f-${fault.slug}`,
    objects: await manifests(env, fault, namespace),
    osmType: OpenStackMachineType,
    oscType: OpenStackClusterType,
  };
  const counter = new WriteCounter(kube, namespace, [OpenStackClusterType, OpenStackMachineType]);
  await counter.start();
  const standIn = new CapiCoreStandIn({ kubeConfig: env.kubeConfig, namespace, intervalMs: 250 });
  try {
    await fault.apply(ctx);
    await resetSimRequests(env.sim.adminUrl);
    const t0 = Date.now();
    await applyObjects(kube, ctx.objects, "capo-bench-faults");
    standIn.start();
    await sleep(o.settleMs - (Date.now() - t0));
    const a = await counter.snapshot(env.sim.adminUrl);
    await sleep(o.durationMs - (Date.now() - t0));
    const b = await counter.snapshot(env.sim.adminUrl);
    await fault.lift(ctx);
    const liftedAt = Date.now();
    const recovered = await waitFor(liftedAt + o.recoverTimeoutMs, () =>
      standIn.clusters().some((c) => c.infrastructureProvisioned && c.desiredMachines > 0 && c.machinesProvisioned === c.desiredMachines),
    );
    const result = summarize(fault, a, b, recovered === undefined ? undefined : recovered - liftedAt);
    say(`- ${fault.name}: ${JSON.stringify({ ...result, fault: undefined })}`);
    await teardown(kube, ctx, standIn);
    return result;
  } finally {
    await standIn.stop();
    await counter.stop();
  }
}

function summarize(fault: FaultClass, a: Snapshot, b: Snapshot, recoverMs: number | undefined): FaultResult {
  const windowMs = b.at - a.at;
  const objects = Math.max(1, b.objects);
  return {
    fault,
    windowMs,
    objects: b.objects,
    requestsPerObjectPerMinute: perMinute(b.openStackRequests - a.openStackRequests, windowMs) / objects,
    keystoneLogins: b.keystoneLogins,
    writesPerMinute: perMinute(b.objectWrites - a.objectWrites, windowMs),
    eventsPerMinute: perMinute(b.events - a.events, windowMs),
    recoverMs,
  };
}

/** Deletes the cluster and waits (a minute at most) so that the next fault starts with the quotas free. */
async function teardown(kube: KubeClient, ctx: FaultContext, standIn: CapiCoreStandIn): Promise<void> {
  await kube.delete(StandInTypes.cluster, ctx.namespace, ctx.clusterName).catch(() => undefined);
  await waitFor(Date.now() + 60_000, () => standIn.clusters().length === 0);
}

export function renderFaultSection(results: FaultResult[], o: FaultBenchOptions): string {
  const flags = o.argv.filter((a) => a !== "--no-write").join(" ");
  const f1 = (n: number) => n.toFixed(1);
  const lines = [
    `Command: \`npm run bench:faults${flags ? ` -- ${flags}` : ""}\` (= \`npm run build && node dist/bench/faults.js${flags ? ` ${flags}` : ""}\`)`,
    "",
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, Node ${process.version}. Each fault is on for ${o.durationMs / 1000} s from the ` +
      "apply of a new cluster (1 control plane + 1 worker, without-lb template) on the simulator, with the CAPI core stand-in and our " +
      `controllers at their defaults (10-minute resync). Rates count from ${o.settleMs / 1000} s after the apply to the lift; ` +
      "writes are updates of the OpenStackCluster and OpenStackMachines (all by the controllers), Events count new ones and count " +
      "increments. Recovery runs from the lift until the cluster and both machines are provisioned.",
    "",
    "| fault | objects | OpenStack requests per object per minute (goal ≤ 6) | Keystone logins in total | status writes per minute | Events per minute | recovery after lift | woken by |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of results) {
    const rec = r.recoverMs === undefined ? `not within ${o.recoverTimeoutMs / 1000} s` : `${f1(r.recoverMs / 1000)} s`;
    lines.push(
      `| ${r.fault.name} | ${r.objects} | ${f1(r.requestsPerObjectPerMinute)} | ${r.keystoneLogins} | ${f1(r.writesPerMinute)} | ${f1(r.eventsPerMinute)} | ${rec} | ${r.fault.wake} |`,
    );
  }
  return lines.join("\n");
}

const START = "<!-- faults-bench:start -->";
const END = "<!-- faults-bench:end -->";

export function replaceFaultSection(doc: string, body: string): string {
  const block = `${START}\n${body}\n${END}`;
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  if (s >= 0 && e > s) return doc.slice(0, s) + block + doc.slice(e + END.length);
  const base = doc.trim() ? doc.replace(/\s*$/, "\n") : "# Benchmarks\n";
  return `${base}\n## Fault benchmark\n\n${block}\n`;
}

export async function runFaultBench(o: FaultBenchOptions): Promise<FaultResult[]> {
  const faults = o.only.length ? FAULTS.filter((f) => o.only.includes(f.slug)) : FAULTS;
  const env = await startLocalEnvironment({ simConfig: { timing: { buildDelayMs: 1000 } }, startControllers: true, onStep: (m) => say(`- ${m}`) });
  const kube = new KubeClient(env.kubeConfig, { userAgent: "capo-bench-faults" });
  try {
    const results: FaultResult[] = [];
    for (const f of faults) results.push(await runFault(env, kube, f, o));
    return results;
  } finally {
    kube.close();
    await env.stop();
  }
}

async function main(): Promise<void> {
  const o = parseFaultArgs(process.argv.slice(2));
  const results = await runFaultBench(o);
  const section = renderFaultSection(results, o);
  say("");
  say(section);
  if (!o.write) return;
  const file = join(repoRoot(), "BENCHMARKS.md");
  let doc = "";
  try {
    doc = readFileSync(file, "utf8");
  } catch {
    // no file yet
  }
  writeFileSync(file, replaceFaultSection(doc, section));
  say(`\nwrote the Fault benchmark section of ${file}`);
}

if (process.argv[1]?.endsWith("faults.js")) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench:faults failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
