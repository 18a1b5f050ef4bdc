import { request } from "node:http";
import { join } from "node:path";
import { spawnTied } from "../testenv/tied-process.js";
import type { TiedProcess } from "../testenv/tied-process.js";

/** What the Go helper (hack/testbin/wcemu) says about one emulated cluster. */
export interface EmulatedClusterStatus {
  endpoint: string;
  serving: boolean;
  /** A TLS client trusting only the cluster's CA got an answer from https://<endpoint>/ (dialled in the namespace). */
  reachable: boolean;
  reachError?: string;
  nodes: { name: string; providerID: string; controlPlane: boolean; ready: boolean }[];
  etcdMembers: string[];
  etcdLeader: string;
  kubeadmConfig: boolean;
}

export interface ClusterInit {
  caCert: string;
  caKey: string;
  etcdCaCert: string;
  etcdCaKey: string;
  clusterConfiguration: string;
}

export interface NodeState {
  providerID: string;
  controlPlane: boolean;
  kubeletVersion: string;
  ready: boolean;
}

/** The Go helper's control API (a unix socket: reachable from our namespace though the helper runs in another). */
export class WcemuClient {
  constructor(readonly socketPath: string) {}

  putCluster(endpoint: string, init: ClusterInit): Promise<unknown> {
    return this.call("PUT", `/clusters/${endpoint}`, init);
  }
  deleteCluster(endpoint: string): Promise<unknown> {
    return this.call("DELETE", `/clusters/${endpoint}`);
  }
  setServing(endpoint: string, serving: boolean): Promise<unknown> {
    return this.call("PUT", `/clusters/${endpoint}/serving`, { serving });
  }
  putNode(endpoint: string, name: string, node: NodeState): Promise<unknown> {
    return this.call("PUT", `/clusters/${endpoint}/nodes/${encodeURIComponent(name)}`, node);
  }
  deleteNode(endpoint: string, name: string): Promise<unknown> {
    return this.call("DELETE", `/clusters/${endpoint}/nodes/${encodeURIComponent(name)}`);
  }
  status(endpoint: string): Promise<EmulatedClusterStatus> {
    return this.call("GET", `/clusters/${endpoint}`) as Promise<EmulatedClusterStatus>;
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, headers: { "content-type": "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 500) >= 300) {
            reject(new Error(`workload-cluster emulator: ${method} ${path}: ${res.statusCode}: ${text.trim()}`));
            return;
          }
          resolve(text ? JSON.parse(text) : {});
        });
      });
      req.on("error", reject);
      req.end(payload);
    });
  }
}

export interface WcemuProcess {
  client: WcemuClient;
  process: TiedProcess;
}

/** The line the helper prints once its control socket accepts requests. */
const READY_LINE = "wcemu: ready";

/**
 * Starts the Go helper. With `netnsPath` (e.g. /proc/<pid>/ns/net of the CAPI managers' namespace) it runs in that
 * namespace, where the floating-IP range is local: its listeners exist only there.
 */
export async function startWcemu(binary: string, workDir: string, netnsPath?: string): Promise<WcemuProcess> {
  const socketPath = join(workDir, "wcemu.sock");
  const args = ["--control-socket", socketPath];
  const proc = netnsPath
    ? spawnTied("workload-cluster-emulator", "nsenter", [`--net=${netnsPath}`, "--", binary, ...args], join(workDir, "wcemu.log"))
    : spawnTied("workload-cluster-emulator", binary, args, join(workDir, "wcemu.log"));
  const deadline = Date.now() + 20_000;
  while (!proc.logTail(50).includes(READY_LINE)) {
    if (proc.hasExited() || Date.now() > deadline) {
      await proc.stop(1_000);
      throw new Error(`the workload-cluster emulator did not start; its log:\n${proc.logTail(20)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { client: new WcemuClient(socketPath), process: proc };
}
