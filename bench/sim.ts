/**
 * Simulator benchmark (not a timed test): 1,000 servers with ports and floating IPs in one project, then 10,000
 * requests measuring the simulator's own overhead (no injected latency), p50/p99, and memory before/after.
 *
 * Run:  npx tsc -p tsconfig.json && node --expose-gc dist/bench/sim.js [--servers N] [--requests N] [--write]
 * `--write` replaces the "Simulator" section of BENCHMARKS.md with the results.
 */
import { readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { Agent, request } from "undici";
import { startSimulator } from "../src/sim/index.js";

const args = process.argv.slice(2);
const num = (flag: string, dflt: number): number => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SERVERS = num("--servers", 1000);
const REQUESTS = num("--requests", 10_000);
const WRITE = args.includes("--write");

const agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
let base = "";
let token = "";

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await request(`${base}${path}`, {
    method: method as "GET",
    dispatcher: agent,
    headers: { "x-auth-token": token, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
}

async function must<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await call<T>(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function pool<T>(items: T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await f(items[i++] as T);
  }));
}

async function main(): Promise<void> {
  const heapStart = heapMiB();
  const big = SERVERS * 2 + 100;
  const sim = await startSimulator({
    config: {
      timing: { buildDelayMs: 0, deleteDelayMs: 0, lbUpdateDelayMs: 0, volumeDelayMs: 0 },
      externalNetworks: [{ name: "public", cidr: "172.16.0.0/16" }],
      quotas: { instances: big, cores: big * 4, ram: big * 8192, port: big * 2, floatingip: big, subnet: 10, network: 10 },
    },
  });
  base = sim.url;
  const auth = await request(`${sim.authUrl}/auth/tokens`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "demo", domain: { name: "Default" }, password: "demo" } } }, scope: { project: { name: "demo", domain: { name: "Default" } } } } }),
  });
  token = String(auth.headers["x-subject-token"]);
  await auth.body.text();

  const t0 = performance.now();
  const flavor = (await must<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).flavors.find((f) => f.name === "m1.small")?.id as string;
  const image = (await must<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).images[0]?.id as string;
  const pub = (await must<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).networks[0]?.id as string;
  const net = (await must<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "bench" } })).network.id;
  const sub = (await must<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.128.0.0/16", ip_version: 4 } })).subnet.id;
  const router = (await must<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "bench", external_gateway_info: { network_id: pub } } })).router.id;
  await must("PUT", `/networking/v2.0/routers/${router}/add_router_interface`, { subnet_id: sub });
  const servers: { id: string; port: string; fip: string }[] = [];
  await pool(Array.from({ length: SERVERS }, (_, i) => i), 8, async (i) => {
    const port = (await must<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: net, name: `bench-${i}` } })).port.id;
    const server = (await must<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: `bench-${i}`, flavorRef: flavor, imageRef: image, networks: [{ port }] } })).server.id;
    const fip = (await must<{ floatingip: { id: string } }>("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: pub, port_id: port } })).floatingip.id;
    servers.push({ id: server, port, fip });
  });
  const setupMs = performance.now() - t0;
  const heapWorld = heapMiB();

  const kinds: ((x: { id: string; port: string; fip: string }) => string)[] = [
    (x) => `/compute/v2.1/servers/${x.id}`,
    (x) => `/networking/v2.0/ports/${x.port}`,
    (x) => `/networking/v2.0/floatingips/${x.fip}`,
    (x) => `/networking/v2.0/ports?device_id=${x.id}`,
    () => "/compute/v2.1/flavors/detail",
  ];
  const lat: number[] = [];
  const t1 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const x = servers[i % servers.length] as { id: string; port: string; fip: string };
    const path = (kinds[i % kinds.length] as (y: typeof x) => string)(x);
    const s = performance.now();
    const r = await call("GET", path);
    lat.push(performance.now() - s);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
  }
  const loopMs = performance.now() - t1;
  const heapAfter = heapMiB();
  lat.sort((a, b) => a - b);
  const inv = await (await fetch(`${sim.adminUrl}/inventory?project=demo`)).json() as { projects: { counts: Record<string, number> }[] };
  await sim.close();
  await agent.close();

  const counts = inv.projects[0]?.counts ?? {};
  const lines = [
    `Command: \`npx tsc -p tsconfig.json && node --expose-gc dist/bench/sim.js --servers ${SERVERS} --requests ${REQUESTS}${WRITE ? " --write" : ""}\``,
    "",
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average at the end ${loadavg()[0]?.toFixed(1)} (the machine is shared: a high load inflates times and p99); simulator in the same process, client over HTTP keep-alive on 127.0.0.1, no injected latency.`,
    "",
    "| measure | value |",
    "|---|---|",
    `| world built | ${counts["servers"]} servers, ${counts["ports"]} ports, ${counts["floatingips"]} floating IPs in one project |`,
    `| setup time (${SERVERS} × port + server + floating IP, 8 in parallel) | ${(setupMs / 1000).toFixed(1)} s |`,
    `| requests (GET server / port / floating IP / ports?device_id / flavors, sequential) | ${REQUESTS} in ${(loopMs / 1000).toFixed(1)} s (${Math.round(REQUESTS / (loopMs / 1000))} req/s) |`,
    `| latency p50 / p99 / max | ${pct(lat, 50).toFixed(2)} ms / ${pct(lat, 99).toFixed(2)} ms / ${(lat[lat.length - 1] ?? 0).toFixed(2)} ms |`,
    `| heap: start / after building the world / after ${REQUESTS} requests | ${heapStart.toFixed(1)} / ${heapWorld.toFixed(1)} / ${heapAfter.toFixed(1)} MiB |`,
    `| heap growth over the ${REQUESTS} requests | ${(heapAfter - heapWorld).toFixed(1)} MiB |`,
  ];
  const section = lines.join("\n");
  process.stdout.write(`${section}\n`);
  if (WRITE) {
    let doc = "";
    try {
      doc = await readFile("BENCHMARKS.md", "utf8");
    } catch {
      doc = "# Benchmarks\n";
    }
    const start = "<!-- sim-bench:start -->";
    const end = "<!-- sim-bench:end -->";
    const block = `## Simulator\n\n${start}\n${section}\n${end}\n`;
    const re = /## Simulator\n\n<!-- sim-bench:start -->[\s\S]*?<!-- sim-bench:end -->\n/;
    doc = re.test(doc) ? doc.replace(re, block) : `${doc.trimEnd()}\n\n${block}`;
    await writeFile("BENCHMARKS.md", doc);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
