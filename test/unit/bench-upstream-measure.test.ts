import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { externalNetworkId, ourCluster } from "../../bench/cluster-shapes.js";
import { cpuByProgram, ProcSampler, readProcUsage } from "../../bench/proc-usage.js";
import { cutPhase, mergePhases, topPaths } from "../../bench/request-log.js";
import { replaceMarkedSection } from "../../bench/upstream-report.js";
import { startSimulator, type RunningSimulator } from "../../src/sim/index.js";

/** The measurement plumbing of `npm run bench:upstream`, against the real simulator and a real child process. */

describe("request log phases (real simulator)", () => {
  let sim: RunningSimulator;
  let token: string;
  let network: string;
  beforeAll(async () => {
    sim = await startSimulator();
    const auth = await fetch(`${sim.authUrl}/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        auth: {
          identity: { methods: ["password"], password: { user: { name: "demo", password: "demo", domain: { name: "Default" } } } },
          scope: { project: { name: "demo", domain: { name: "Default" } } },
        },
      }),
    });
    expect(auth.status).toBe(201);
    token = auth.headers.get("x-subject-token") ?? "";
    const catalog = ((await auth.json()) as { token: { catalog: { type: string; endpoints: { interface: string; url: string }[] }[] } }).token.catalog;
    network = `${catalog.find((s) => s.type === "network")?.endpoints.find((e) => e.interface === "public")?.url.replace(/\/$/, "")}/v2.0`;
  });
  afterAll(() => sim.close());

  const get = async (path: string): Promise<Response> => fetch(`${network}${path}`, { headers: { "x-auth-token": token } });

  it("counts a phase's requests by path template, and a cut starts the next phase from zero", async () => {
    await cutPhase(sim.adminUrl);
    const nets = ((await (await get("/networks")).json()) as { networks: { id: string }[] }).networks;
    const id = nets[0]?.id ?? "";
    for (let i = 0; i < 2; i++) expect((await get(`/networks/${id}`)).status).toBe(200);
    expect((await get("/networks/00000000-0000-0000-0000-00000000dead")).status).toBe(404);

    const phase = await cutPhase(sim.adminUrl);
    expect(phase.total).toBe(4);
    expect(topPaths(phase, 10)).toEqual([
      { request: "GET network /networks/{id}", count: 3 },
      { request: "GET network /networks", count: 1 },
    ]);
    // Nothing since the cut; the admin API's own requests (the cut itself) never count.
    expect((await cutPhase(sim.adminUrl)).total).toBe(0);

    await get("/networks");
    const next = await cutPhase(sim.adminUrl);
    expect(mergePhases(phase, next).counts.find((c) => c.path === "/networks")?.count).toBe(2);
    expect(mergePhases(phase, next).total).toBe(5);
  });

  it("finds the external network id the upstream template needs, as the network API lists it", async () => {
    const id = await externalNetworkId(sim.authUrl, { username: "demo", password: "demo", project: "demo" });
    const external = ((await (await get("/networks?router:external=true")).json()) as { networks: { id: string; name: string }[] }).networks;
    expect(external.map((n) => n.id)).toEqual([id]);
  });

  it("renders our cluster with the kinds upstream's without-lb template has: no MachineHealthCheck", async () => {
    const dir = mkdtempSync(join(tmpdir(), "capo-shapes-"));
    try {
      const cloudsFile = join(dir, "clouds.yaml");
      writeFileSync(cloudsFile, sim.cloudsYaml("capo-sim"), { mode: 0o600 });
      const objects = await ourCluster({ clusterName: "c0", namespace: "ns", workers: 1, cloudsFile, externalNetworkId: "ext" });
      // The kinds of upstream CAPO v0.14.2's templates/cluster-template-without-lb.yaml.
      expect([...new Set(objects.map((o) => o.kind))].sort()).toEqual([
        "Cluster",
        "KubeadmConfigTemplate",
        "KubeadmControlPlane",
        "MachineDeployment",
        "OpenStackCluster",
        "OpenStackMachineTemplate",
        "Secret",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("RSS and CPU of a child process (/proc)", () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill("SIGKILL"));

  it("sees what the child itself reports: 96 MiB held and the CPU it burnt, and keeps the last reading after exit", async () => {
    // The child holds 96 MiB of touched memory, burns >= 0.5 s of CPU (by its own clock, not ours), then reports its
    // own view and waits for stdin to close.
    const script = `
      const held = Buffer.alloc(96 * 1024 * 1024, 1);
      while (process.cpuUsage().user + process.cpuUsage().system < 500000) Math.sqrt(Math.random());
      const u = process.cpuUsage();
      process.stdout.write(JSON.stringify({ cpu: (u.user + u.system) / 1e6, maxRssKiB: process.resourceUsage().maxRSS, n: held.length }) + "\\n");
      process.stdin.resume();
      process.stdin.on("end", () => process.exit(0));
    `;
    const proc = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    child = proc;
    const [line] = (await once(proc.stdout, "data")) as [Buffer];
    const own = JSON.parse(line.toString()) as { cpu: number; maxRssKiB: number };
    const sampler = new ProcSampler(proc.pid ?? -1, 50);
    const seen = sampler.sample();

    expect(seen.rssBytes).toBeGreaterThanOrEqual(96 * 2 ** 20);
    expect(seen.peakRssBytes).toBeGreaterThanOrEqual(seen.rssBytes);
    // VmHWM is the same high-water mark getrusage's ru_maxrss reports.
    expect(Math.abs(seen.peakRssBytes / 1024 - own.maxRssKiB)).toBeLessThanOrEqual(2048);
    // /proc counts in 10 ms ticks; the child read its clock a moment before.
    expect(seen.cpuSeconds).toBeGreaterThanOrEqual(own.cpu - 0.02);
    expect(seen.cpuSeconds).toBeLessThan(own.cpu + 1);

    proc.stdin.end();
    await once(proc, "exit");
    expect(() => readProcUsage(proc.pid ?? -1)).toThrow();
    const last = sampler.stop();
    expect(last.peakRssBytes).toBe(seen.peakRssBytes);
    expect(last.cpuSeconds).toBeGreaterThanOrEqual(seen.cpuSeconds);
  });
});

describe("CPU by program of a run (/proc)", () => {
  it("adds up the CPU of the processes whose command line names the run's directory, by program name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "capo-cpu-by-program-"));
    const script = join(dir, "burn.mjs");
    writeFileSync(script, "while (process.cpuUsage().user + process.cpuUsage().system < 300000) Math.sqrt(Math.random());\nprocess.stdout.write('burnt\\n');\nprocess.stdin.resume();\nprocess.stdin.on('end', () => process.exit(0));\n");
    const procs = [0, 1].map(() => spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] }));
    try {
      await Promise.all(procs.map((p) => once(p.stdout, "data")));
      const byProgram = cpuByProgram(dir);
      expect([...byProgram.keys()]).toEqual(["node burn.mjs"]);
      expect(byProgram.get("node burn.mjs")).toBeGreaterThanOrEqual(0.58);
      expect(cpuByProgram(join(dir, "elsewhere")).size).toBe(0);
    } finally {
      for (const p of procs) p.stdin.end();
      await Promise.all(procs.map((p) => once(p, "exit")));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("BENCHMARKS.md upstream section", () => {
  it("replaces only the text between its markers, or appends it with a heading", () => {
    const doc = "# Benchmarks\n\n## A\n\n<!-- a:start -->\nold a\n<!-- a:end -->\n";
    const added = replaceMarkedSection(doc, "upstream-bench", "Side by side", "table 1");
    expect(added).toBe(`${doc}\n## Side by side\n\n<!-- upstream-bench:start -->\ntable 1\n<!-- upstream-bench:end -->\n`);
    const replaced = replaceMarkedSection(added, "upstream-bench", "Side by side", "table 2");
    expect(replaced).toBe(added.replace("table 1", "table 2"));
  });
});
