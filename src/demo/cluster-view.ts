import type { EmulatedClusterStatus } from "../emulator/index.js";
import type { KubeClient } from "../runtime/index.js";
import { StandInTypes as T, type ClusterObject, type MachineObject } from "./capi-types.js";
import { emulatedCluster, type RealCapi } from "./real-capi.js";

/** How far the demo cluster got, from the Cluster API objects and the emulated workload cluster's Nodes. */
export interface ClusterView {
  infrastructureProvisioned: boolean;
  /** host:port of the control-plane endpoint, once capo set it. */
  endpoint?: string;
  /** Machines not being deleted. */
  machines: number;
  /** Machines in phase Running with a nodeRef (CAPI found their Node in the workload cluster). */
  machinesRunning: number;
  /** The workload cluster's Nodes as its API server reports them (none until the first control plane boots). */
  nodes: EmulatedClusterStatus["nodes"];
}

interface MachineStatusWithNode {
  phase?: string;
  nodeRef?: { name?: string };
}

export async function readClusterView(client: KubeClient, capi: RealCapi, namespace: string, name: string): Promise<ClusterView> {
  const [cluster, machines] = await Promise.all([
    client.get<ClusterObject>(T.cluster, namespace, name).catch(() => undefined),
    client.list<MachineObject>(T.machine, { namespace, labelSelector: `cluster.x-k8s.io/cluster-name=${name}` }),
  ]);
  const live = machines.items.filter((m) => !m.metadata?.deletionTimestamp);
  const ep = cluster?.spec?.controlPlaneEndpoint;
  const endpoint = ep?.host ? `${ep.host}:${ep.port ?? 6443}` : undefined;
  const workload = endpoint ? await emulatedCluster(capi, endpoint) : undefined;
  return {
    infrastructureProvisioned: cluster?.status?.initialization?.infrastructureProvisioned === true,
    ...(endpoint ? { endpoint } : {}),
    machines: live.length,
    machinesRunning: live.filter((m) => {
      const s = m.status as MachineStatusWithNode | undefined;
      return s?.phase === "Running" && Boolean(s.nodeRef?.name);
    }).length,
    nodes: workload?.reachable ? workload.nodes : [],
  };
}

export function readyNodes(v: ClusterView): number {
  return v.nodes.filter((n) => n.ready).length;
}

/** Every expected Machine is Running with its Node, and the workload cluster has exactly that many Ready Nodes. */
export function allNodesReady(v: ClusterView, expected: number): boolean {
  return v.infrastructureProvisioned && v.machines === expected && v.machinesRunning === expected && readyNodes(v) === expected && v.nodes.length === expected;
}

export function describeView(v: ClusterView | undefined, expected: number): string {
  if (!v) return "waiting for the Cluster to be seen";
  const infra = v.infrastructureProvisioned
    ? `infrastructure provisioned${v.endpoint ? ` (endpoint ${v.endpoint})` : ""}`
    : "provisioning the cluster infrastructure (network, router, security groups, API endpoint)";
  return `${infra} · machines: ${v.machines}/${expected} created, ${v.machinesRunning}/${expected} running · Nodes Ready: ${readyNodes(v)}/${expected}`;
}
