import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KubeClient } from "../../src/runtime/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");

interface DemoProc {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[], env: NodeJS.ProcessEnv = {}): DemoProc {
  // No TTY: the demo prints plain lines, which is what we parse.
  const child = spawn(process.execPath, [CLI, "demo", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exit };
}

async function waitForOutput(p: DemoProc, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`demo exited before printing ${pattern}:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs} ms:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the demo says it started: pids, ports, work dir, the Cluster API managers and their network namespace. */
function startedServices(out: string) {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m?.[1]) throw new Error(`output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  const workDir = /log: (\/\S+)\/controllers\.log/.exec(out)?.[1];
  if (!workDir) throw new Error(`output lacks the work dir:\n${out}`);
  const capiPids = /Cluster API\s+v\S+ core, kubeadm bootstrap, kubeadm control plane \(pids ([\d, ]+)\)/.exec(out)?.[1];
  if (!capiPids) throw new Error(`output lacks the Cluster API managers' pids:\n${out}`);
  return {
    simPort: num(/simulator\s+http:\/\/127\.0\.0\.1:(\d+)/),
    etcdPort: num(/etcd\s+http:\/\/127\.0\.0\.1:(\d+)/),
    etcdPid: num(/etcd\s+\S+ \(pid (\d+)\)/),
    apiPort: num(/kube-apiserver\s+https:\/\/127\.0\.0\.1:(\d+)/),
    apiPid: num(/kube-apiserver\s+\S+ \(pid (\d+)\)/),
    capiPids: capiPids.split(", ").map(Number),
    netnsPid: num(/in network namespace \/proc\/\d+\/ns\/net \(pid (\d+)\)/),
    workDir,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function expectNothingLeft(out: string): Promise<void> {
  const s = startedServices(out);
  expect(alive(s.etcdPid), "etcd still running").toBe(false);
  expect(alive(s.apiPid), "kube-apiserver still running").toBe(false);
  for (const pid of s.capiPids) expect(alive(pid), `Cluster API manager ${pid} still running`).toBe(false);
  expect(alive(s.netnsPid), "the network namespace's relay still running").toBe(false);
  for (const port of [s.simPort, s.etcdPort, s.apiPort]) expect(await listening(port), `port ${port} still open`).toBe(false);
  expect(existsSync(s.workDir), `${s.workDir} still exists`).toBe(false);
  // No emulator process of this run (it lives under the work dir) is left.
  const { stdout } = await promisify(execFile)("ps", ["-eo", "args"]);
  expect(stdout.split("\n").filter((l) => l.includes(s.workDir))).toEqual([]);
}

/**
 * The workload cluster's Nodes, asked of its own API server at the control-plane endpoint with the kubeconfig Cluster
 * API wrote (Secret demo-kubeconfig), from inside the demo's network namespace: the only place the endpoint answers.
 */
async function workloadNodes(kubeconfigPath: string, netnsPid: number): Promise<{ name: string; ready: boolean; providerID: string }[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = new KubeClient(kc);
  try {
    const secret = await client.get<KubernetesObject & { data: { value: string } }>(SECRET, "default", "demo-kubeconfig");
    const workload = parse(Buffer.from(secret.data.value, "base64").toString()) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { "client-certificate-data": string; "client-key-data": string } }[];
    };
    const script = `
      const [server, ca, cert, key] = process.argv.slice(1).map((x, i) => i === 0 ? x : Buffer.from(x, "base64"));
      require("https").get(server + "/api/v1/nodes", { ca, cert, key }, (res) => {
        let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => { process.stdout.write(body); process.exit(res.statusCode === 200 ? 0 : 1); });
      }).on("error", (e) => { console.error(e.message); process.exit(1); });`;
    const { stdout } = await promisify(execFile)("nsenter", [
      `--net=/proc/${netnsPid}/ns/net`, "--", process.execPath, "-e", script,
      workload.clusters[0]!.cluster.server, workload.clusters[0]!.cluster["certificate-authority-data"],
      workload.users[0]!.user["client-certificate-data"], workload.users[0]!.user["client-key-data"],
    ]);
    const nodes = JSON.parse(stdout) as { items: { metadata: { name: string }; spec: { providerID: string }; status: { conditions: { type: string; status: string }[] } }[] };
    return nodes.items.map((n) => ({
      name: n.metadata.name,
      providerID: n.spec.providerID,
      ready: n.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
    }));
  } finally {
    client.close();
  }
}

const SECRET = { group: "", version: "v1", plural: "secrets", kind: "Secret" } as const;
const MACHINE = { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machines", kind: "Machine" } as const;

describe("capo demo (built CLI, its own simulator + etcd + kube-apiserver + real Cluster API managers + emulator)", () => {
  const procs: DemoProc[] = [];

  beforeAll(async () => {
    await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT }).catch((e: { stdout?: string }) => {
      // Type errors elsewhere in the tree still emit JS; only fail when nothing was reported (tsc itself failed).
      if (!String(e.stdout ?? "").length) throw e;
    });
    expect(existsSync(CLI)).toBe(true);
  }, 240_000);

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill("SIGKILL");
        await p.exit;
      }
    }
  });

  // One run carries the main story: real Cluster API managers bring 1 control plane + 1 worker to Ready Nodes, the
  // demo prints them and keeps running, and SIGTERM then removes everything it started.
  it("brings the cluster to Ready Nodes with the real Cluster API managers, keeps running until SIGTERM, then cleans up (exit 143)", async () => {
    const p = startDemo(["--workers", "1", "--timeout", "4m"]);
    procs.push(p);
    await waitForOutput(p, /press Ctrl-C to stop it/, 300_000);
    const out1 = p.output();
    const services = startedServices(out1);
    expect(out1).toMatch(/^all 2 Nodes Ready in \d+\.\d s \(real Cluster API v1\.14\.2 managers \+ workload-cluster emulator\)$/m);
    expect(out1).not.toMatch(/stand-in|SIMULATED/i);
    for (const pid of services.capiPids) expect(alive(pid), `Cluster API manager ${pid}`).toBe(true);
    // Cluster and OpenStackCluster provisioned, with the load balancer's floating IP as the endpoint.
    expect(out1).toMatch(/^\s+demo\s+Provisioned\s+provisioned\s+\d+\.\d+\.\d+\.\d+:6443$/m);
    // Two Machines Running, each with a providerID and an ACTIVE server; two Ready Nodes with the same providerIDs.
    const machineRows = out1.split("\n").filter((l) => /^\s+demo-(control-plane|md-0)-\S+\s+(control-plane|worker)\s+Running\s+openstack:\/\/\/[0-9a-f-]{36}\s+ACTIVE\s+InternalIP=/.test(l));
    expect(machineRows, out1).toHaveLength(2);
    const nodeRows = out1.split("\n").filter((l) => /^\s+demo-\S+\s+(control-plane|worker)\s+true\s+openstack:\/\/\/[0-9a-f-]{36}$/.test(l));
    expect(nodeRows, out1).toHaveLength(2);
    for (const section of ["networks (1)", "routers (1)", "floating IPs (1)", "load balancers (1)", "LB members (1)", "servers (2)"]) {
      expect(out1).toContain(`  ${section}:`);
    }

    // What the demo printed is what is there: the Machines (written by CAPI's managers) have Nodes, and the
    // workload cluster's own API server, asked through the endpoint, has those Nodes Ready.
    const kubeconfig = /kubeconfig:\s+(\/\S+)/.exec(out1)?.[1] ?? "";
    expect(out1).toContain(`KUBECONFIG=${kubeconfig} kubectl get clusters`);
    expect(out1).toMatch(/OS_CLIENT_CONFIG_FILE=\/\S+\/clouds\.yaml OS_CLOUD=capo-sim openstack server list/);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const client = new KubeClient(kc);
    const machines = await client.list<KubernetesObject & { spec: { providerID?: string }; status?: { phase?: string; nodeRef?: { name: string } } }>(MACHINE, { namespace: "default" });
    client.close();
    expect(machines.items.map((m) => m.status?.phase)).toEqual(["Running", "Running"]);
    const nodes = await workloadNodes(kubeconfig, services.netnsPid);
    expect(nodes.map((n) => n.name).sort()).toEqual(machines.items.map((m) => m.status?.nodeRef?.name).sort());
    expect(nodes.every((n) => n.ready), JSON.stringify(nodes)).toBe(true);
    expect(nodes.map((n) => n.providerID).sort()).toEqual(machines.items.map((m) => m.spec.providerID).sort());

    p.child.kill("SIGTERM");
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(143);
    expect(out).toContain("SIGTERM: stopping");
    expect(out).toContain("cleaned up");
    expect(existsSync(kubeconfig)).toBe(false);
    await expectNothingLeft(out);
  }, 420_000);

  it("SIGINT while waiting for the Nodes stops everything and exits with 130", async () => {
    const p = startDemo(["--timeout", "4m"]);
    procs.push(p);
    await waitForOutput(p, /- applied: /, 240_000);
    const services = startedServices(p.output());
    expect(alive(services.apiPid)).toBe(true);
    expect(await listening(services.simPort)).toBe(true);

    p.child.kill("SIGINT");
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(130);
    expect(out).toContain("SIGINT: stopping");
    expect(out).toContain("cleaned up");
    await expectNothingLeft(out);
  }, 300_000);

  it("a timeout reports the state it reached, exits non-zero and still cleans up", async () => {
    const p = startDemo(["--exit", "--timeout", "1s"]);
    procs.push(p);
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(2);
    expect(out).toMatch(/state at the timeout:/);
    expect(out).toMatch(/error: timed out after 1 s waiting for 3 Ready Nodes/);
    expect(out).toContain("cleaned up");
    await expectNothingLeft(out);
    // The controller log outlives the work dir so the user can read why; the test removes it.
    const kept = /controller log kept at (\/\S+)/.exec(out)?.[1] ?? "";
    expect(existsSync(kept), out).toBe(true);
    rmSync(kept);
  }, 300_000);

  it("without what the real Cluster API managers need, refuses before starting anything, naming each missing tool", async () => {
    // A PATH holding only sh: no unshare, nsenter, ip or openssl.
    const bin = mkdtempSync(join(tmpdir(), "capo-demo-path-"));
    symlinkSync("/bin/sh", join(bin, "sh"));
    try {
      const p = startDemo(["--exit"], { PATH: bin });
      procs.push(p);
      const { code } = await p.exit;
      const out = p.output();
      expect(code, out).toBe(2);
      expect(out).toMatch(/error: cannot start the local environment: the demo runs the real Cluster API managers, and this machine lacks:/);
      expect(out).toContain("- the unshare command (install util-linux)");
      expect(out).toContain("- the ip command (install iproute2)");
      expect(out).not.toMatch(/\n\s+at /); // no stack trace
      expect(out).not.toMatch(/- (etcd|kube-apiserver)\s/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);
});
