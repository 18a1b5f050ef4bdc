import type { ResourceType } from "../runtime/resource.js";
import { resourcePath } from "../runtime/resource.js";
import { UserError } from "../util/errors.js";
import type { AnyObject, ClusterSnapshot } from "./describe-tree.js";
import { Discovery, isNotFoundError, kubeFailure, type KubeTarget } from "./kube.js";

const CLUSTER: ResourceType = { group: "cluster.x-k8s.io", version: "v1beta2", plural: "clusters", kind: "Cluster" };
const MACHINE: ResourceType = { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machines", kind: "Machine" };
const MACHINE_DEPLOYMENT: ResourceType = { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machinedeployments", kind: "MachineDeployment" };
const OPENSTACK_MACHINE: ResourceType = { group: "infrastructure.cluster.x-k8s.io", version: "v1beta2", plural: "openstackmachines", kind: "OpenStackMachine" };
const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";

/** A v1beta2 contract reference ({apiGroup, kind, name}) or an older one ({apiVersion, kind, name}). */
interface ObjectRef {
  apiGroup?: string;
  apiVersion?: string;
  kind?: string;
  name?: string;
}

/**
 * Reads everything `capo describe cluster` shows: the Cluster, the objects its refs name (control plane,
 * OpenStackCluster), and the MachineDeployments, Machines and OpenStackMachines labelled with the cluster's name.
 */
export async function collectCluster(target: KubeTarget, name: string, namespace: string): Promise<ClusterSnapshot> {
  const client = target.client;
  const discovery = new Discovery(client);
  const doing = `describing cluster ${namespace}/${name}`;
  try {
    let cluster: AnyObject;
    try {
      cluster = await client.request<AnyObject>("GET", resourcePath(CLUSTER, { namespace, name }));
    } catch (e) {
      if (isNotFoundError(e)) {
        throw new UserError(`Cluster ${namespace}/${name} not found (is -n NAMESPACE right? \`kubectl get clusters -A\` lists them)`);
      }
      throw e;
    }
    const selector = `${CLUSTER_NAME_LABEL}=${name}`;
    const [controlPlane, infraCluster, mds, machines, infraMachines] = await Promise.all([
      getRef(target, discovery, cluster.spec?.["controlPlaneRef"] as ObjectRef | undefined, namespace),
      getRef(target, discovery, cluster.spec?.["infrastructureRef"] as ObjectRef | undefined, namespace),
      listOptional(target, MACHINE_DEPLOYMENT, namespace, selector),
      listOptional(target, MACHINE, namespace, selector),
      listOptional(target, OPENSTACK_MACHINE, namespace, selector),
    ]);
    const byName: Record<string, AnyObject> = {};
    for (const m of infraMachines) if (m.metadata?.name) byName[m.metadata.name] = m;
    // Machines may name OpenStackMachines that lack the cluster label (created by hand): fetch those too.
    for (const m of machines) {
      const ref = m.spec?.["infrastructureRef"] as ObjectRef | undefined;
      if (ref?.kind === "OpenStackMachine" && ref.name && !byName[ref.name]) {
        const found = await getOptional(target, OPENSTACK_MACHINE, namespace, ref.name);
        if (found) byName[ref.name] = found;
      }
    }
    const snap: ClusterSnapshot = { cluster, machineDeployments: mds, machines, infraMachines: byName };
    if (controlPlane) snap.controlPlane = controlPlane;
    if (infraCluster) snap.infraCluster = infraCluster;
    return snap;
  } catch (e) {
    throw kubeFailure(e, target, doing);
  }
}

async function getOptional(target: KubeTarget, type: ResourceType, namespace: string, name: string): Promise<AnyObject | undefined> {
  try {
    return await target.client.request<AnyObject>("GET", resourcePath(type, { namespace, name }));
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

/** Lists by label; a kind the cluster does not serve (CRD missing) counts as none. */
async function listOptional(target: KubeTarget, type: ResourceType, namespace: string, labelSelector: string): Promise<AnyObject[]> {
  try {
    const l = await target.client.request<{ items?: AnyObject[] }>("GET", resourcePath(type, { namespace }), { query: { labelSelector } });
    return l.items ?? [];
  } catch (e) {
    if (isNotFoundError(e)) return [];
    throw e;
  }
}

/** Fetches the object a ref names, at the version the API server prefers for its group. */
async function getRef(target: KubeTarget, discovery: Discovery, ref: ObjectRef | undefined, namespace: string): Promise<AnyObject | undefined> {
  if (!ref?.kind || !ref.name) return undefined;
  let apiVersion = ref.apiVersion;
  if (!apiVersion && ref.apiGroup) {
    try {
      const group = await target.client.request<{ preferredVersion?: { groupVersion?: string } }>("GET", `/apis/${ref.apiGroup}`);
      apiVersion = group.preferredVersion?.groupVersion;
    } catch (e) {
      if (isNotFoundError(e)) return undefined;
      throw e;
    }
  }
  if (!apiVersion) return undefined;
  const type = await discovery.resourceFor(apiVersion, ref.kind);
  if (!type) return undefined;
  try {
    return await target.client.request<AnyObject>("GET", resourcePath(type, { namespace, name: ref.name }));
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}
