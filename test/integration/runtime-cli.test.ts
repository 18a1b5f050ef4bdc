import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from "vitest";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { CoreTypes } from "../../src/runtime/resource.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const SLOW_FIXTURE = join(ROOT, "dist", "test", "integration", "fixtures", "slow-controller-main.js");

interface Proc {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string;
  exit: Promise<number | null>;
}

function kubeconfigPath(): string {
  return inject("kubeconfigPath") ?? process.env["CAPO_TEST_KUBECONFIG"] ?? "";
}

describe("capo controller as a process against the real apiserver", () => {
  const ns = useTestNamespace("rt-cli");
  const procs: Proc[] = [];
  let client: KubeClient;

  beforeAll(async () => {
    // The child runs the compiled CLI; build it first (whole project, as `npm run build` does).
    await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT }).catch((e: { stdout?: string }) => {
      // Type errors elsewhere in the tree still emit JS; only fail when our entry points are missing.
      if (!String(e.stdout ?? "").length) throw e;
    });
    client = new KubeClient(testKubeConfig());
  }, 180_000);

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill("SIGKILL");
        await p.exit;
      }
    }
  });
  afterAll(() => client?.close());

  function start(script: string, extraArgs: string[] = []): Proc {
    const child = spawn(
      process.execPath,
      [
        script,
        "controller",
        "--kubeconfig",
        kubeconfigPath(),
        "--namespace",
        ns.name,
        "--metrics-bind-address",
        "127.0.0.1:0",
        "--health-probe-bind-address",
        "127.0.0.1:0",
        ...extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const p: Proc = {
      child,
      lines: [],
      stderr: "",
      exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
    };
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const l of parts) if (l.trim()) p.lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    child.stderr!.on("data", (d: Buffer) => (p.stderr += d.toString()));
    procs.push(p);
    return p;
  }

  async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, p?: Proc, ms = 30_000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; stderr: ${p?.stderr ?? ""}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const started = (p: Proc) =>
    until("manager started", () => p.lines.find((l) => l["msg"] === "manager started") as { metricsUrl: string; healthUrl: string } | undefined, p);

  const leaderGauge = async (metricsUrl: string) => {
    const body = await (await fetch(`${metricsUrl}/metrics`)).text();
    return /leader_election_master_status\{name="[^"]+"\} (\d)/.exec(body)?.[1];
  };

  const LE = ["--leader-elect", "--leader-election-namespace", "", "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "200ms"];
  const leArgs = () => LE.map((a) => (a === "" ? ns.name : a));

  it("serves probes and metrics, leads alone, hands the lease over on SIGTERM and exits 0", async () => {
    const first = start(CLI, leArgs());
    const urls1 = await started(first);
    expect(urls1.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${urls1.healthUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${urls1.healthUrl}/readyz`)).status).toBe(200);
    await until("first leads", async () => (await leaderGauge(urls1.metricsUrl)) === "1", first);
    const metrics = await (await fetch(`${urls1.metricsUrl}/metrics`)).text();
    expect(metrics).toContain("process_resident_memory_bytes");
    expect(metrics).toContain("# TYPE openstack_requests_total counter");
    // The informers' lists and the lease went through the manager's client: counted, with their latency.
    expect(metrics).toMatch(/rest_client_requests_total\{code="200",method="GET"\} [1-9]/);
    expect(metrics).toMatch(/rest_client_request_duration_seconds_count\{verb="GET"\} [1-9]/);

    const second = start(CLI, leArgs());
    const urls2 = await started(second);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await leaderGauge(urls2.metricsUrl)).toBe("0");

    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);
    expect(first.lines.some((l) => l["msg"] === "released leader lease")).toBe(true);
    expect(first.lines.at(-1)?.["msg"]).toBe("shutdown complete");
    // Released, not expired: the second replica leads well within the 4 s lease duration.
    const t0 = Date.now();
    await until("second leads", async () => (await leaderGauge(urls2.metricsUrl)) === "1", second);
    expect(Date.now() - t0).toBeLessThan(3000);
    type Lease = KubernetesObject & { spec?: { holderIdentity?: string } };
    const lease = await client.get<Lease>(CoreTypes.lease, ns.name, "controller-leader-election-capo");
    expect(lease.spec?.holderIdentity).toBeTruthy();

    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  });

  it("on SIGTERM, finishes the reconcile in flight before exiting", async () => {
    const p = start(SLOW_FIXTURE);
    await started(p);
    await client.create(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "slow", namespace: ns.name },
      data: { sleepMs: "2000" },
    } as KubernetesObject);
    await until("slow reconcile started", () => p.lines.some((l) => l["msg"] === "slow reconcile started"), p);
    p.child.kill("SIGTERM");
    expect(await p.exit).toBe(0);
    const msgs = p.lines.map((l) => l["msg"]);
    const iSignal = msgs.indexOf("signal received: shutting down");
    const iFinished = msgs.indexOf("slow reconcile finished");
    const iDone = msgs.indexOf("shutdown complete");
    expect(iSignal).toBeGreaterThanOrEqual(0);
    expect(iFinished).toBeGreaterThan(iSignal);
    expect(iDone).toBeGreaterThan(iFinished);
    expect(p.lines[iDone]?.["drained"]).toBe(true);
    const cm = await client.get(CoreTypes.configMap, ns.name, "slow");
    expect(cm.metadata?.annotations?.["capo.test/done"]).toBe("true");
  });

  it("rejects bad flags with a message naming the flag", async () => {
    const p = start(CLI, ["--sync-period", "soon"]);
    expect(await p.exit).toBe(1);
    expect(p.stderr).toContain('--sync-period must be a duration like 30s, 10m or 1h30m; got "soon"');
    expect(p.stderr).not.toContain("    at ");
  });
});
