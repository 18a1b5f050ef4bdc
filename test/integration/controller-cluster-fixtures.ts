// Shared by controller-cluster*.test.ts (and the child process fixture): objects a user and CAPI core would
// create for one cluster, and small waits. Not a test itself.
import type { KubernetesObject } from "@kubernetes/client-node";
import { IDENTITY_SECRET_LABEL } from "../../src/controllers/credentials.js";
import { CapiTypes, CoreTypes, isNotFound, type KubeClient } from "../../src/runtime/index.js";
import type { SimConfig } from "../../src/sim/index.js";
import { OpenStackClusterType, type OpenStackClusterObject } from "../../src/controllers/openstackcluster/types.js";
import { admin, CLUSTER_RESOURCE_KINDS, inventory, liveCounts, type InventoryItem, type RunningSimulator } from "../helpers/sim.js";
import { until } from "../helpers/until.js";

export { until };

/** A password no log line may contain (the default world's "demo" is also the user and project name). */
export const SIM_PASSWORD = "Tr0ub4dor-and-3-horse-staple";

export const simConfig: SimConfig = {
  projects: [{ name: "admin" }, { name: "demo" }],
  users: [
    { name: "admin", password: "admin-Zq81", projects: ["admin", "demo"] },
    { name: "demo", password: SIM_PASSWORD, projects: ["demo"] },
  ],
};

/** Short waits, requeues and backoff, so that a test sees each reconcile step within milliseconds. */
export const fastClusterControllerOptions = {
  loadBalancerWait: { timeoutMs: 20_000, intervalMs: 25 },
  terminalRequeueMs: 1_000,
  machinesGoneRequeueMs: 200,
  bastionRequeueMs: 100,
  backoffBaseMs: 50,
  backoffMaxMs: 1_000,
};

export type Flavor = "without-lb" | "with-lb";

/** The spec both flavors share (as `capo generate cluster` renders it), plus the flavor's API server settings. */
export function clusterSpec(name: string, flavor: Flavor, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    identityRef: { name: `${name}-cloud-config`, cloudName: "capo-sim" },
    managedSubnets: [{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8"] }],
    managedSecurityGroups: { allowAllInClusterTraffic: false },
    ...(flavor === "with-lb" ? { apiServer: { managedLoadBalancer: { enabled: true, additionalPorts: [8443] } } } : {}),
    ...extra,
  };
}

/** Creates the identity Secret, the CAPI Cluster and the OpenStackCluster owned by it. */
export async function createCluster(
  client: KubeClient,
  namespace: string,
  name: string,
  sim: RunningSimulator,
  spec: Record<string, unknown>,
  opts: { paused?: boolean; owned?: boolean; labels?: Record<string, string> } = {},
): Promise<void> {
  await client.create(CoreTypes.secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${name}-cloud-config`, namespace, labels: { "clusterctl.cluster.x-k8s.io/move": "true", [IDENTITY_SECRET_LABEL]: "true" } },
    data: { "clouds.yaml": Buffer.from(sim.cloudsYaml("capo-sim")).toString("base64") },
  } as KubernetesObject);
  const cluster = await client.create(CapiTypes.cluster, {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Cluster",
    metadata: { name, namespace },
    spec: {
      ...(opts.paused ? { paused: true } : {}),
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name },
    },
  } as KubernetesObject);
  const owned = opts.owned ?? true;
  await client.create(OpenStackClusterType, {
    apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2",
    kind: "OpenStackCluster",
    metadata: {
      name,
      namespace,
      labels: { "cluster.x-k8s.io/cluster-name": name, ...opts.labels },
      ...(owned
        ? { ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", name, uid: cluster.metadata?.uid ?? "" }] }
        : {}),
    },
    spec,
  } as KubernetesObject);
}

export async function getOSC(client: KubeClient, namespace: string, name: string): Promise<OpenStackClusterObject | undefined> {
  try {
    return await client.get<OpenStackClusterObject>(OpenStackClusterType, namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export function condition(osc: OpenStackClusterObject | undefined, type: string) {
  return osc?.status?.conditions?.find((c) => c.type === type);
}


export async function waitProvisioned(client: KubeClient, namespace: string, name: string, ms = 60_000): Promise<OpenStackClusterObject> {
  return until(`${namespace}/${name} provisioned`, async () => {
    const o = await getOSC(client, namespace, name);
    return o?.status?.initialization?.provisioned === true && condition(o, "Ready")?.status === "True" ? o : undefined;
  }, ms);
}

export { CLUSTER_RESOURCE_KINDS, inventory, liveCounts as counts, type InventoryItem };

export interface RequestCount {
  service: string;
  method: string;
  path: string;
  count: number;
}

export async function requestCounts(sim: RunningSimulator): Promise<{ total: number; counts: RequestCount[] }> {
  return (await admin<{ total: number; counts: RequestCount[] }>(sim, "GET", "/requests")).body;
}

export function mutating(counts: RequestCount[]): RequestCount[] {
  return counts.filter((c) => c.service !== "identity" && c.method !== "GET" && c.method !== "HEAD");
}
