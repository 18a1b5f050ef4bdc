import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { request } from "node:https";
import type { RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startCapiManagers } from "../../src/testenv/capi-managers.js";
import { repoRoot } from "../../src/testenv/index.js";
import type { CapiManagers } from "../../src/testenv/capi-managers.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

// Real Cluster API (core, kubeadm bootstrap, kubeadm control plane) against the test apiserver. The test plays only
// the infrastructure provider's part (our controllers are not running here): it marks the OpenStackCluster
// provisioned, and everything else is done by CAPI's own controllers.

const ns = useTestNamespace("capi-managers");
let managers: CapiManagers | undefined;
let hostListenersBefore: Set<string>;

function kubeconfigPath(): string {
  const path = inject("kubeconfigPath") ?? process.env.CAPO_TEST_KUBECONFIG;
  if (!path) throw new Error("no test kubeconfig: run this through vitest's integration project");
  return path;
}

beforeAll(async () => {
  hostListenersBefore = new Set(nonLoopbackListeners(readListenTables("self")).map(describeListener));
  managers = await startCapiManagers({ kubeconfigPath: kubeconfigPath(), watchFilter: ns.name });
}, 240_000);

afterAll(async () => {
  await managers?.stop();
});

// ---- /proc/net/tcp{,6} ----

interface TcpSocket {
  ip: string;
  port: number;
  listening: boolean;
  inode: string;
}

/** IPv4 in /proc/net/tcp is one little-endian 32-bit word; IPv6 in tcp6 is four of them. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

/** TCP sockets of the network namespace `pid` is in ("self" = ours). */
function readListenTables(pid: number | "self"): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const file of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, "utf8").trim().split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const [addr, port] = (f[1] ?? "").split(":");
      sockets.push({
        ip: decodeAddress(addr ?? ""),
        port: parseInt(port ?? "0", 16),
        listening: f[3] === "0A",
        inode: f[9] ?? "",
      });
    }
  }
  return sockets;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "0:0:0:0:0:0:0:1" || /^0:0:0:0:0:ffff:7f/.test(ip);
}

function nonLoopbackListeners(sockets: TcpSocket[]): TcpSocket[] {
  return sockets.filter((s) => s.listening && !isLoopback(s.ip));
}

function describeListener(s: TcpSocket): string {
  return `${s.ip}:${s.port}`;
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // The fd closed while we looked.
    }
  }
  return inodes;
}

// ---- Kubernetes API ----

type Obj = {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};

/** A raw API call as the test's admin, for the status subresource and JSON merge patches. */
async function kube(kc: KubeConfig, method: string, path: string, body?: unknown): Promise<unknown> {
  const server = new URL(kc.getCurrentCluster()?.server ?? "");
  const opts: RequestOptions = {
    method,
    hostname: server.hostname,
    port: server.port,
    path,
    headers: { accept: "application/json", "content-type": "application/merge-patch+json" },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const CLUSTER_API = "/apis/cluster.x-k8s.io/v1beta2";
const INFRA_API = "/apis/infrastructure.cluster.x-k8s.io/v1beta2";
const BOOTSTRAP_API = "/apis/bootstrap.cluster.x-k8s.io/v1beta2";
const CONTROLPLANE_API = "/apis/controlplane.cluster.x-k8s.io/v1beta2";

function path(api: string, plural: string, name?: string): string {
  return `${api}/namespaces/${ns.name}/${plural}${name ? `/${name}` : ""}`;
}

async function get(kc: KubeConfig, api: string, plural: string, name: string): Promise<Obj> {
  return (await kube(kc, "GET", path(api, plural, name))) as Obj;
}

async function list(kc: KubeConfig, api: string, plural: string): Promise<Obj[]> {
  return ((await kube(kc, "GET", path(api, plural))) as { items: Obj[] }).items;
}

/** Polls until `check` returns a value (not undefined); the managers' logs are in the failure message. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      // Info lines (klog "I....") would bury the errors that say why.
      const errors = (managers?.logs() ?? "").split("\n").filter((l) => !/^I\d{4}/.test(l) || /rror/.test(l));
      const recent = errors.slice(-60).join("\n");
      throw new Error(`timed out waiting for ${what} (${String(last ?? "")}); manager errors:\n${recent}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The label that puts an object in the managers' watch filter (the test namespace's name). */
const WATCH_FILTER_LABEL = "cluster.x-k8s.io/watch-filter";

function manifests(cluster: string): string {
  const labels = `labels: { ${WATCH_FILTER_LABEL}: ${ns.name} }`;
  return `
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: OpenStackCluster
metadata: { name: ${cluster}, ${labels} }
spec:
  identityRef: { cloudName: openstack, name: ${cluster}-cloud-config }
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: OpenStackMachineTemplate
metadata: { name: ${cluster}-control-plane }
spec:
  template:
    spec:
      flavor: { filter: { name: m1.medium } }
      image: { filter: { name: ubuntu-2404-kube-v1.34.1 } }
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata: { name: ${cluster}-control-plane, ${labels} }
spec:
  replicas: 1
  version: v1.34.1
  machineTemplate:
    # KCP copies these labels to the Machine and KubeadmConfig it creates: without them, the core and bootstrap
    # managers would ignore those.
    metadata: { ${labels} }
    spec:
      infrastructureRef:
        { apiGroup: infrastructure.cluster.x-k8s.io, kind: OpenStackMachineTemplate, name: ${cluster}-control-plane }
  kubeadmConfigSpec:
    initConfiguration:
      nodeRegistration:
        kubeletExtraArgs: [{ name: cloud-provider, value: external }]
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: { name: ${cluster}, ${labels} }
spec:
  clusterNetwork:
    pods: { cidrBlocks: ["192.168.0.0/16"] }
  controlPlaneRef:
    { apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: ${cluster}-control-plane }
  infrastructureRef: { apiGroup: infrastructure.cluster.x-k8s.io, kind: OpenStackCluster, name: ${cluster} }
`;
}

describe("Cluster API's managers run against the test apiserver", () => {
  it("confines them to a private network namespace: no listener outside loopback in ours", () => {
    const m = managers!;
    expect(m.pids).toHaveLength(3);
    const ourNetns = readlinkSync("/proc/self/ns/net");
    const hostSockets = readListenTables("self");
    for (const pid of [...m.pids, m.forwarderPid]) {
      expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(ourNetns);
      const inodes = socketInodes(pid);
      // None of their sockets is in our namespace's tables at all, let alone listening.
      expect(hostSockets.filter((s) => inodes.has(s.inode))).toEqual([]);
    }
    // In their own namespace they do listen: the webhook servers on every interface (why they need it), and the
    // health probes on 127.0.0.1.
    const theirs = readListenTables(m.pids[0]!).filter((s) => s.listening);
    const coreInodes = socketInodes(m.pids[0]!);
    const coreListeners = theirs.filter((s) => coreInodes.has(s.inode)).map(describeListener);
    expect(coreListeners).toContain("127.0.0.1:9440");
    expect(coreListeners.some((l) => /^(0\.0\.0\.0|0:0:0:0:0:0:0:0):9443$/.test(l))).toBe(true);
    const newHostListeners = nonLoopbackListeners(readListenTables("self"))
      .map(describeListener)
      .filter((l) => !hostListenersBefore.has(l));
    expect(newHostListeners).toEqual([]);
    expect(m.logs()).toMatch(/Version: v1\.14\.2/);
  });

  it("drives a Cluster to its first control-plane Machine with bootstrap data", async () => {
    const kc = testKubeConfig();
    const name = "capi-real";
    await applyManifests(kc, manifests(name), { namespace: ns.name });
    // The same kind of Cluster without the watch-filter label (as another test's would be): left alone throughout.
    const ignored = "capi-ignored";
    await applyManifests(kc, manifests(ignored).replaceAll(`, labels: { ${WATCH_FILTER_LABEL}: ${ns.name} }`, ""), {
      namespace: ns.name,
    });

    // CAPI core adopts our infrastructure cluster and starts provisioning.
    const adopted = await eventually("CAPI core to own the OpenStackCluster", async () => {
      const osc = await get(kc, INFRA_API, "openstackclusters", name);
      return osc.metadata.ownerReferences?.some((r) => r.kind === "Cluster" && r.name === name) ? osc : undefined;
    });
    expect(adopted.metadata.labels?.["cluster.x-k8s.io/cluster-name"]).toBe(name);
    const provisioning = await eventually("the Cluster to be Provisioning", async () => {
      const c = await get(kc, CLUSTER_API, "clusters", name);
      return c.status?.phase === "Provisioning" ? c : undefined;
    });
    expect(provisioning.metadata.finalizers).toContain("cluster.cluster.x-k8s.io");
    expect(provisioning.spec?.controlPlaneEndpoint ?? {}).toEqual({});

    // Play the infrastructure provider: endpoint first, then provisioned (the v1beta2 contract's order).
    const endpoint = { host: "10.6.0.10", port: 6443 };
    await kube(kc, "PATCH", path(INFRA_API, "openstackclusters", name), { spec: { controlPlaneEndpoint: endpoint } });
    await kube(kc, "PATCH", `${path(INFRA_API, "openstackclusters", name)}/status`, {
      status: { initialization: { provisioned: true } },
    });

    const provisioned = await eventually("the Cluster's infrastructure to be provisioned", async () => {
      const c = await get(kc, CLUSTER_API, "clusters", name);
      const init = c.status?.initialization as { infrastructureProvisioned?: boolean } | undefined;
      return init?.infrastructureProvisioned ? c : undefined;
    });
    expect(provisioned.spec?.controlPlaneEndpoint).toEqual(endpoint);

    // KubeadmControlPlane creates the first control-plane Machine, its KubeadmConfig and an OpenStackMachine cloned
    // from our template; the bootstrap controller renders `kubeadm init` data into a Secret.
    const machine = await eventually("a control-plane Machine with bootstrap data", async () => {
      const machines = await list(kc, CLUSTER_API, "machines");
      const m = machines.find(
        (x) => x.metadata.labels?.["cluster.x-k8s.io/control-plane-name"] === `${name}-control-plane`,
      );
      const bootstrap = m?.spec?.bootstrap as { dataSecretName?: string } | undefined;
      return bootstrap?.dataSecretName ? m : undefined;
    });
    expect(machine?.metadata.ownerReferences).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: "KubeadmControlPlane", name: `${name}-control-plane` })]),
    );
    const spec = machine!.spec as {
      clusterName: string;
      version: string;
      bootstrap: { configRef: { kind: string; name: string }; dataSecretName: string };
      infrastructureRef: { kind: string; name: string };
    };
    expect(spec.clusterName).toBe(name);
    expect(spec.version).toBe("v1.34.1");
    expect(spec.infrastructureRef.kind).toBe("OpenStackMachine");
    expect(spec.bootstrap.configRef.kind).toBe("KubeadmConfig");

    const osm = await get(kc, INFRA_API, "openstackmachines", spec.infrastructureRef.name);
    expect(osm.spec).toMatchObject({
      flavor: { filter: { name: "m1.medium" } },
      image: { filter: { name: "ubuntu-2404-kube-v1.34.1" } },
    });
    expect(osm.metadata.labels?.["cluster.x-k8s.io/control-plane"]).toBe("");

    const config = await get(kc, BOOTSTRAP_API, "kubeadmconfigs", spec.bootstrap.configRef.name);
    expect(config.status?.dataSecretName).toBe(spec.bootstrap.dataSecretName);
    const secretPath = `/api/v1/namespaces/${ns.name}/secrets/${spec.bootstrap.dataSecretName}`;
    const secret = (await kube(kc, "GET", secretPath)) as Obj;
    const userData = Buffer.from(secret.data?.value ?? "", "base64").toString("utf8");
    expect(userData).toContain("#cloud-config");
    expect(userData).toContain("kubeadm init");
    expect(userData).toContain(`controlPlaneEndpoint: ${endpoint.host}:${endpoint.port}`);

    // KCP also generated the cluster's certificates and its admin kubeconfig.
    for (const suffix of ["ca", "etcd", "sa", "proxy", "kubeconfig"]) {
      await kube(kc, "GET", `/api/v1/namespaces/${ns.name}/secrets/${name}-${suffix}`);
    }

    // Meanwhile nothing touched the unlabelled cluster: no finalizer, no owner, no Machine.
    const ignoredCluster = await get(kc, CLUSTER_API, "clusters", ignored);
    expect(ignoredCluster.metadata.finalizers ?? []).toEqual([]);
    expect(ignoredCluster.status?.phase).toBeUndefined();
    expect((await get(kc, INFRA_API, "openstackclusters", ignored)).metadata.ownerReferences ?? []).toEqual([]);
    expect((await get(kc, CONTROLPLANE_API, "kubeadmcontrolplanes", `${ignored}-control-plane`)).metadata.finalizers ?? []).toEqual([]);
    const machines = await list(kc, CLUSTER_API, "machines");
    expect(machines.map((m) => m.spec?.["clusterName"])).toEqual([name]);
  }, 180_000);

  it("kills the managers and their relay when the process that started them is killed (SIGKILL)", async () => {
    const workDir = mkdtempSync(join(tmpdir(), "capo-capi-child-"));
    try {
      // vite-node (vitest's own runner) runs the TypeScript fixture directly, without a build.
      const root = repoRoot();
      const viteNode = join(root, "node_modules", "vite-node", "vite-node.mjs");
      const fixture = join(root, "test", "integration", "capi-managers-child.ts");
      const child = spawn(process.execPath, [viteNode, fixture, kubeconfigPath(), workDir], {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("exit", (code, signal) => reject(new Error(`child exited early: ${code ?? signal}`)));
      });
      const report = JSON.parse(line) as { pids: number[]; forwarderPid: number };
      const all = [...report.pids, report.forwarderPid];
      expect(all.filter(isRunning)).toEqual(all);
      child.kill("SIGKILL");
      const deadline = Date.now() + 15_000;
      while (all.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(all.filter(isRunning)).toEqual([]);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** Alive and not a zombie (an orphan's reaper may take a moment). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}
