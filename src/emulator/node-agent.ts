import type { DataplaneServer, DataplaneView } from "../sim/dataplane.js";
import { serversBehind } from "./routing.js";
import { readKubeadmUserData } from "./user-data.js";
import type { KubeadmBoot } from "./user-data.js";
import type { NodeState, WcemuClient } from "./wcemu.js";

/**
 * The simulator's "node agent": it plays, for every simulated server, what kubeadm and the kubelet on a real VM do,
 * against the emulated workload clusters in the Go helper. Each pass reads the simulator's data plane and moves the
 * emulated clusters toward it:
 * - an ACTIVE server whose user data runs `kubeadm init` creates its cluster (CA, kubeadm-config) and registers;
 * - a server whose user data runs `kubeadm join` registers only if its endpoint answers right now (a join goes
 *   through the floating IP or load balancer, so a broken data path means no Node, as on a real cloud);
 * - a registered node is Ready while its server is ACTIVE, NotReady when it is stopped or in ERROR, gone with it;
 * - a cluster's endpoint answers only while OpenStack routes it to a live control-plane node.
 */
export class NodeAgent {
  /** Registered nodes, by server id. */
  private readonly joined = new Map<string, JoinedNode>();
  /** Clusters created, by endpoint: the CA they were created with (a recycled floating IP means a new cluster). */
  private readonly clusters = new Map<string, { caCert: string; kubernetesVersion: string; serving: boolean }>();
  /** Last node state sent, by server id, so that an unchanged node is not rewritten each pass. */
  private readonly sent = new Map<string, string>();

  constructor(private readonly wcemu: WcemuClient) {}

  /** One pass over the data plane. */
  async sync(view: DataplaneView): Promise<void> {
    const live = new Map(view.servers.filter((s) => s.status !== "DELETED").map((s) => [s.id, s]));
    await this.forgetGone(live);
    for (const server of live.values()) await this.boot(server, view);
    for (const [id, node] of this.joined) {
      const server = live.get(id);
      if (server) await this.report(id, node, server);
    }
    await this.route(view, live);
  }

  private async forgetGone(live: Map<string, DataplaneServer>): Promise<void> {
    for (const [id, node] of this.joined) {
      if (live.has(id)) continue;
      await this.wcemu.deleteNode(node.endpoint, node.name);
      this.joined.delete(id);
      this.sent.delete(id);
    }
    for (const endpoint of this.clusters.keys()) {
      if ([...this.joined.values()].some((n) => n.endpoint === endpoint)) continue;
      await this.wcemu.deleteCluster(endpoint);
      this.clusters.delete(endpoint);
    }
  }

  /** kubeadm runs once, on an ACTIVE server that has not joined yet. */
  private async boot(server: DataplaneServer, view: DataplaneView): Promise<void> {
    if (server.status !== "ACTIVE" || this.joined.has(server.id)) return;
    const boot = readKubeadmUserData(server.userData, server.name);
    if (!boot) return;
    if (boot.init) {
      await this.init(boot);
    } else if (!(await this.endpointAnswers(boot.endpoint, view))) {
      return; // kubeadm join retries until the endpoint answers (the next pass tries again)
    }
    this.joined.set(server.id, { name: boot.nodeName, endpoint: boot.endpoint, controlPlane: boot.controlPlane });
  }

  private async init(boot: KubeadmBoot & { init?: NonNullable<KubeadmBoot["init"]> }): Promise<void> {
    const init = boot.init;
    if (!init) return;
    const known = this.clusters.get(boot.endpoint);
    if (known && known.caCert !== init.caCert) {
      // The endpoint's address now fronts another cluster: the old one is unreachable for good.
      await this.wcemu.deleteCluster(boot.endpoint);
      this.clusters.delete(boot.endpoint);
    }
    if (!this.clusters.has(boot.endpoint)) {
      await this.wcemu.putCluster(boot.endpoint, init);
      this.clusters.set(boot.endpoint, { caCert: init.caCert, kubernetesVersion: init.kubernetesVersion, serving: false });
    }
  }

  /** A join needs the endpoint to answer: the cluster exists and OpenStack routes it to a live API server. */
  private async endpointAnswers(endpoint: string, view: DataplaneView): Promise<boolean> {
    const cluster = this.clusters.get(endpoint);
    if (!cluster?.serving) return false;
    return this.liveApiServersBehind(endpoint, view).length > 0;
  }

  private async report(id: string, node: JoinedNode, server: DataplaneServer): Promise<void> {
    const state: NodeState = {
      providerID: `openstack:///${id}`,
      controlPlane: node.controlPlane,
      kubeletVersion: this.clusters.get(node.endpoint)?.kubernetesVersion ?? "",
      ready: server.status === "ACTIVE",
    };
    const key = JSON.stringify(state);
    if (this.sent.get(id) === key) return;
    await this.wcemu.putNode(node.endpoint, node.name, state);
    this.sent.set(id, key);
  }

  /** Opens each cluster's endpoint exactly while the data plane reaches one of its live control-plane nodes. */
  private async route(view: DataplaneView, live: Map<string, DataplaneServer>): Promise<void> {
    for (const [endpoint, cluster] of this.clusters) {
      const serving = this.liveApiServersBehind(endpoint, view, live).length > 0;
      if (serving === cluster.serving) continue;
      await this.wcemu.setServing(endpoint, serving);
      cluster.serving = serving;
    }
  }

  private liveApiServersBehind(endpoint: string, view: DataplaneView, live?: Map<string, DataplaneServer>): string[] {
    const servers = live ?? new Map(view.servers.map((s) => [s.id, s]));
    return [...serversBehind(view, endpoint)].filter((id) => {
      const node = this.joined.get(id);
      return node?.controlPlane && node.endpoint === endpoint && servers.get(id)?.status === "ACTIVE";
    });
  }
}

interface JoinedNode {
  name: string;
  endpoint: string;
  controlPlane: boolean;
}
