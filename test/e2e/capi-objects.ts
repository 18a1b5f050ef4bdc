// Shared by the real-CAPI end-to-end tests: the CAPI object shapes they read, polling with diagnostics, and the
// simulator's inventory. Not a test itself (the set-up is in capi-real-env.ts).
import type { KubernetesObject } from "@kubernetes/client-node";
import { isNotFound, type KubeClient, type ResourceType } from "../../src/runtime/index.js";
import { CLUSTER_RESOURCE_KINDS, inventory, liveCounts, type InventoryItem } from "../helpers/sim.js";

const CAPI = { group: "cluster.x-k8s.io", version: "v1beta2" };
const INFRA = { group: "infrastructure.cluster.x-k8s.io", version: "v1beta2" };

/** Every kind this test reads or expects to disappear, with the API group that serves it. */
export const T = {
  cluster: { ...CAPI, plural: "clusters", kind: "Cluster" },
  machine: { ...CAPI, plural: "machines", kind: "Machine" },
  machineSet: { ...CAPI, plural: "machinesets", kind: "MachineSet" },
  machineDeployment: { ...CAPI, plural: "machinedeployments", kind: "MachineDeployment" },
  machineHealthCheck: { ...CAPI, plural: "machinehealthchecks", kind: "MachineHealthCheck" },
  kubeadmControlPlane: { group: "controlplane.cluster.x-k8s.io", version: "v1beta2", plural: "kubeadmcontrolplanes", kind: "KubeadmControlPlane" },
  kubeadmConfig: { group: "bootstrap.cluster.x-k8s.io", version: "v1beta2", plural: "kubeadmconfigs", kind: "KubeadmConfig" },
  openStackCluster: { ...INFRA, plural: "openstackclusters", kind: "OpenStackCluster" },
  openStackMachine: { ...INFRA, plural: "openstackmachines", kind: "OpenStackMachine" },
  openStackMachineTemplate: { ...INFRA, plural: "openstackmachinetemplates", kind: "OpenStackMachineTemplate" },
  kubeadmConfigTemplate: { group: "bootstrap.cluster.x-k8s.io", version: "v1beta2", plural: "kubeadmconfigtemplates", kind: "KubeadmConfigTemplate" },
  secret: { group: "", version: "v1", plural: "secrets", kind: "Secret" },
  namespace: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
} as const satisfies Record<string, ResourceType>;

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Address {
  type: string;
  address: string;
}

/** The fields of the CAPI and capo objects the test reads (all kinds in one loose shape). */
export interface Obj extends KubernetesObject {
  spec?: {
    clusterName?: string;
    version?: string;
    providerID?: string;
    failureDomain?: string;
    controlPlaneEndpoint?: { host?: string; port?: number };
    bootstrap?: { configRef?: { kind?: string; name?: string }; dataSecretName?: string };
    infrastructureRef?: { kind?: string; name?: string };
    [k: string]: unknown;
  };
  status?: {
    phase?: string;
    instanceID?: string;
    addresses?: Address[];
    dataSecretName?: string;
    initialization?: Record<string, boolean | undefined>;
    conditions?: Condition[];
    apiServerFloatingIP?: { id: string; ip: string };
    apiServerManagedLoadBalancer?: { id: string; ip?: string; internalIP?: string };
    [k: string]: unknown;
  };
  data?: Record<string, string>;
}

export function conditionOf(o: Obj | undefined, type: string): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

export async function getOrUndefined(client: KubeClient, type: ResourceType, ns: string, name: string): Promise<Obj | undefined> {
  try {
    return await client.get<Obj>(type, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function listIn(client: KubeClient, type: ResourceType, ns: string, labelSelector?: string): Promise<Obj[]> {
  return (await client.list<Obj>(type, { namespace: ns, labelSelector })).items;
}

/**
 * Polls until `check` returns something truthy. On timeout the error carries `diagnostics()` (the managers' and
 * our controllers' recent errors), since "timed out" alone never says which of five controllers got stuck.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  diagnostics: () => string,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}\n${diagnostics()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export { CLUSTER_RESOURCE_KINDS, inventory, liveCounts, type InventoryItem };

/** Log lines that say something went wrong: klog E/W lines of the managers, and warn/error lines of ours. */
export function problemLines(text: string, max: number): string {
  const lines = text.split("\n").filter((l) => /^[EW]\d{4}|^==>/.test(l) || /"level":"(warn|error|fatal)"/.test(l) || /rror/.test(l));
  return lines.slice(-max).join("\n");
}

/** What is still there of a cluster being deleted, with deletion timestamps and finalizers (for failure messages). */
export async function leftovers(client: KubeClient, ns: string): Promise<string> {
  const lines: string[] = [];
  for (const type of [T.cluster, T.kubeadmControlPlane, T.machineDeployment, T.machineSet, T.machine, T.kubeadmConfig, T.openStackMachine, T.openStackCluster]) {
    for (const o of await listIn(client, type, ns)) {
      const deleting = o.metadata?.deletionTimestamp ? " (deleting)" : "";
      lines.push(`${type.kind}/${o.metadata?.name}${deleting} finalizers=${JSON.stringify(o.metadata?.finalizers ?? [])}`);
    }
  }
  return lines.join("\n");
}
