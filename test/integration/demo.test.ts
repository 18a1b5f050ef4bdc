import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");

interface DemoProc {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[]): DemoProc {
  // No TTY: the demo prints plain lines, which is what we parse.
  const child = spawn(process.execPath, [CLI, "demo", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
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

/** What the demo says it started: pids, ports, work dir. */
function startedServices(out: string) {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m?.[1]) throw new Error(`output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  const workDir = /log: (\/\S+)\/controllers\.log/.exec(out)?.[1];
  if (!workDir) throw new Error(`output lacks the work dir:\n${out}`);
  return {
    simPort: num(/simulator\s+http:\/\/127\.0\.0\.1:(\d+)/),
    etcdPort: num(/etcd\s+http:\/\/127\.0\.0\.1:(\d+)/),
    etcdPid: num(/etcd\s+\S+ \(pid (\d+)\)/),
    apiPort: num(/kube-apiserver\s+https:\/\/127\.0\.0\.1:(\d+)/),
    apiPid: num(/kube-apiserver\s+\S+ \(pid (\d+)\)/),
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
  for (const port of [s.simPort, s.etcdPort, s.apiPort]) expect(await listening(port), `port ${port} still open`).toBe(false);
  expect(existsSync(s.workDir), `${s.workDir} still exists`).toBe(false);
}

describe("capo demo (built CLI, its own simulator + etcd + kube-apiserver)", () => {
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

  it("--exit provisions 1 control plane + 2 workers, shows objects and OpenStack resources, leaves nothing behind", async () => {
    const p = startDemo(["--exit", "--timeout", "4m"]);
    procs.push(p);
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(0);

    expect(out).toMatch(/all 3 machines provisioned in/);
    // The CAPI part is labelled as simulated.
    expect(out).toMatch(/SIMULATED Cluster API core/);
    expect(out).toMatch(/simulated CAPI core: created control-plane Machine default\/demo-control-plane-/);
    // Cluster and OpenStackCluster provisioned, with an endpoint.
    expect(out).toMatch(/^\s+demo\s+Provisioned\s+provisioned\s+\d+\.\d+\.\d+\.\d+:6443$/m);
    expect(out).toMatch(/^\s+demo\s+true\s+True\s+\d+\.\d+\.\d+\.\d+:6443\s+k8s-clusterapi-cluster-default-demo/m);
    // Three machines, each with a providerID, an ACTIVE server and an internal address.
    const machineRows = out
      .split("\n")
      .filter((l) => /^\s+demo-(control-plane|md-0)-\w+\*?\s+(control-plane|worker)\s+Provisioned\s+openstack:\/\/\/[0-9a-f-]{36}\s+ACTIVE\s+InternalIP=/.test(l));
    expect(machineRows, out).toHaveLength(3);
    expect(machineRows.filter((l) => /\scontrol-plane\s/.test(l))).toHaveLength(1);
    // The OpenStack resources behind them.
    for (const section of ["networks (1)", "subnets (1)", "routers (1)", "security groups (2)", "floating IPs (1)", "load balancers (1)", "servers (3)"]) {
      expect(out).toContain(`  ${section}:`);
    }
    expect(out).toMatch(/ports \([3-9]\):/);
    expect(out).toContain("cleaned up");

    await expectNothingLeft(out);
  }, 300_000);

  it("SIGINT while waiting for the machines stops everything and exits with 130", async () => {
    const p = startDemo(["--timeout", "4m"]);
    procs.push(p);
    await waitForOutput(p, /starting the CAPI core stand-in/, 180_000);
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

  it("keeps running after the result until SIGTERM, printing how to reach it, then cleans up (exit 143)", async () => {
    const p = startDemo(["--workers", "1", "--timeout", "4m"]);
    procs.push(p);
    await waitForOutput(p, /press Ctrl-C to stop it/, 240_000);
    const out1 = p.output();
    expect(out1).toMatch(/all 2 machines provisioned/);
    const kubeconfig = /kubeconfig:\s+(\/\S+)/.exec(out1)?.[1] ?? "";
    expect(existsSync(kubeconfig)).toBe(true);
    expect(out1).toContain(`KUBECONFIG=${kubeconfig} kubectl get clusters`);
    expect(out1).toMatch(/OS_CLIENT_CONFIG_FILE=\/\S+\/clouds\.yaml OS_CLOUD=capo-sim openstack server list/);
    // Still serving: the apiserver answers while the demo waits.
    expect(await listening(startedServices(out1).apiPort)).toBe(true);

    p.child.kill("SIGTERM");
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(143);
    expect(out).toContain("SIGTERM: stopping");
    expect(existsSync(kubeconfig)).toBe(false);
    await expectNothingLeft(out);
  }, 300_000);

  it("a timeout reports the state it reached, exits non-zero and still cleans up", async () => {
    const p = startDemo(["--exit", "--timeout", "1s"]);
    procs.push(p);
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(2);
    expect(out).toMatch(/state at the timeout:/);
    expect(out).toMatch(/error: timed out after 1 s waiting for 3 provisioned machines/);
    expect(out).toContain("cleaned up");
    await expectNothingLeft(out);
    // The controller log outlives the work dir so the user can read why; the test removes it.
    const kept = /controller log kept at (\/\S+)/.exec(out)?.[1] ?? "";
    expect(existsSync(kept), out).toBe(true);
    rmSync(kept);
  }, 300_000);
});
