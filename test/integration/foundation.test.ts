import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { KubernetesObjectApi } from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeApiError, repoRoot, startControlPlane } from "../../src/testenv/index.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ns = useTestNamespace("foundation");

type ClusterObject = KubernetesObject & { spec: Record<string, unknown> };

const INFRA_REF = "{ apiGroup: infrastructure.cluster.x-k8s.io, kind: OpenStackCluster, name: x }";
const INFRA_REF_WITHOUT_NAME = "{ apiGroup: infrastructure.cluster.x-k8s.io, kind: OpenStackCluster }";

function clusterYaml(name: string, infrastructureRef = INFRA_REF): string {
  return `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: ${name}
spec:
  clusterNetwork:
    pods:
      cidrBlocks: ["192.168.0.0/16"]
  controlPlaneRef: { apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: ${name}-cp }
  infrastructureRef: ${infrastructureRef}
`;
}

/** The apiserver's message for a rejected request (fails the test if the request was accepted). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return describeApiError(e);
  }
  throw new Error("the apiserver accepted an invalid object");
}

describe("the test control plane serves Cluster API's CRDs with real validation", () => {
  it("creates a v1beta2 Cluster in the test namespace and reads it back", async () => {
    const kc = testKubeConfig();
    const [applied] = (await applyManifests(kc, clusterYaml("demo"), { namespace: ns.name })) as KubernetesObject[];
    expect(applied?.metadata?.uid).toBeTruthy();

    const read = await KubernetesObjectApi.makeApiClient(kc).read<ClusterObject>({
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: "demo", namespace: ns.name },
    });
    expect(read.metadata?.uid).toBe(applied?.metadata?.uid);
    expect(read.spec).toMatchObject({
      clusterNetwork: { pods: { cidrBlocks: ["192.168.0.0/16"] } },
      controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "demo-cp" },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: "x" },
    });
  });

  it("rejects a Cluster whose infrastructureRef lacks its required name", async () => {
    const yaml = clusterYaml("no-ref-name", INFRA_REF_WITHOUT_NAME);
    const message = await rejection(applyManifests(testKubeConfig(), yaml, { namespace: ns.name }));
    expect(message).toContain("spec.infrastructureRef.name: Required value");
  });

  it("rejects a Cluster with a wrongly typed field", async () => {
    const client = KubernetesObjectApi.makeApiClient(testKubeConfig());
    const message = await rejection(
      client.create({
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Cluster",
        metadata: { name: "bad-type", namespace: ns.name },
        spec: { paused: "yes" },
      } as KubernetesObject),
    );
    expect(message).toMatch(/spec\.paused.*must be of type boolean/);
  });

  it("validates but does not persist with a dry-run apply", async () => {
    const kc = testKubeConfig();
    const opts = { namespace: ns.name, dryRun: true };
    const [applied] = (await applyManifests(kc, clusterYaml("dry"), opts)) as KubernetesObject[];
    expect(applied?.metadata?.name).toBe("dry");
    const header = {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: "dry", namespace: ns.name },
    };
    const message = await rejection(KubernetesObjectApi.makeApiClient(kc).read(header));
    expect(message).toMatch(/not found/);
  });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Polls until `check` is true or `ms` pass; returns the last result (the kernel reaps orphans asynchronously). */
async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface ChildReport {
  pids: { etcd: number; kubeApiserver: number };
  ports: { etcdClient: number; etcdPeer: number; apiServer: number };
  workDir: string;
}

/** Runs foundation-child.ts (a control plane in a separate node process) and returns it once the plane is ready. */
async function startChildControlPlane(): Promise<{ child: ChildProcess; report: ChildReport }> {
  const root = repoRoot();
  // vite-node (vitest's own runner) runs the TypeScript fixture directly, without a build.
  const viteNode = join(root, "node_modules", "vite-node", "vite-node.mjs");
  const fixture = join(root, "test", "integration", "foundation-child.ts");
  const child = spawn(process.execPath, [viteNode, fixture], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", resolve);
    child.once("exit", (code, signal) => reject(new Error(`control-plane child exited early: ${code ?? signal}`)));
  });
  return { child, report: JSON.parse(line) as ChildReport };
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
}

/** Test cleanup when an assertion failed: nothing may outlive the test. (No handler runs on SIGKILL, so the work
 * dir is ours to remove in that case anyway.) */
function killSurvivors(child: ChildProcess, report: ChildReport): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const pid of Object.values(report.pids)) if (isRunning(pid)) process.kill(pid, "SIGKILL");
  rmSync(report.workDir, { recursive: true, force: true });
}

async function allGone(report: ChildReport): Promise<void> {
  for (const pid of Object.values(report.pids)) expect(await eventually(() => !isRunning(pid))).toBe(true);
  for (const port of Object.values(report.ports)) {
    expect(await eventually(async () => !(await portOpen(port)))).toBe(true);
  }
}

describe("the control plane leaves nothing behind", () => {
  it("stop() ends etcd and kube-apiserver, closes their ports and removes the work dir", async () => {
    const cp = await startControlPlane();
    try {
      for (const pid of Object.values(cp.pids)) expect(isRunning(pid)).toBe(true);
      expect(await portOpen(cp.ports.apiServer)).toBe(true);
      expect(await portOpen(cp.ports.etcdClient)).toBe(true);
      expect(existsSync(cp.kubeconfigPath)).toBe(true);

      await cp.stop();

      await allGone({ pids: cp.pids, ports: cp.ports, workDir: cp.workDir });
      expect(existsSync(cp.workDir)).toBe(false);
    } finally {
      await cp.stop(); // idempotent: a no-op after the stop above, the cleanup if an assertion failed before it
    }
  });

  it("a SIGTERM'd parent takes etcd and kube-apiserver with it and removes the work dir", async () => {
    const { child, report } = await startChildControlPlane();
    try {
      for (const pid of Object.values(report.pids)) expect(isRunning(pid)).toBe(true);
      const exited = exitOf(child);

      child.kill("SIGTERM");

      expect(await exited).toBe("SIGTERM");
      await allGone(report);
      expect(existsSync(report.workDir)).toBe(false);
    } finally {
      killSurvivors(child, report);
    }
  });

  it("a SIGKILL'd parent takes etcd and kube-apiserver with it (parent-death signal)", async () => {
    const { child, report } = await startChildControlPlane();
    try {
      const exited = exitOf(child);

      child.kill("SIGKILL");

      expect(await exited).toBe("SIGKILL");
      await allGone(report);
    } finally {
      killSurvivors(child, report);
    }
  });
});
