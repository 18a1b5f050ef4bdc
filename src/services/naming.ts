import { createHash } from "node:crypto";

/** The cluster a set of OpenStack resources belongs to. */
export interface ClusterIdentity {
  namespace: string;
  name: string;
}

/** Base name of the cluster's resources, as upstream CAPO names them (network, subnet, router, ...). */
export function clusterResourceName({ namespace, name }: ClusterIdentity): string {
  return `k8s-clusterapi-cluster-${namespace}-${name}`;
}

/**
 * A Neutron tag that marks resources created for this cluster. Together with the name it lets a reconcile
 * that crashed before recording an id find what it created instead of creating it twice. (Names and
 * namespaces never contain commas, which Neutron tags must not.)
 */
export function clusterTag({ namespace, name }: ClusterIdentity): string {
  const tag = `capo-cluster=${namespace}/${name}`;
  // Neutron rejects tags longer than 60 characters; long names get a stable digest instead.
  if (tag.length <= MAX_TAG_LENGTH) return tag;
  return `capo-cluster=${createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 40)}`;
}

const MAX_TAG_LENGTH = 60;

/** Name of a managed security group, as upstream CAPO names them: k8s-cluster-<ns>-<name>-secgroup-<role>. */
export function securityGroupName({ namespace, name }: ClusterIdentity, role: "controlplane" | "worker" | "bastion"): string {
  return `k8s-cluster-${namespace}-${name}-secgroup-${role}`;
}

/** Name of the API server load balancer, as upstream CAPO names it. */
export function loadBalancerName(c: ClusterIdentity): string {
  return `${clusterResourceName(c)}-kubeapi`;
}

/** Description set on resources we create, for humans browsing the cloud. */
export function createdByDescription(c: ClusterIdentity): string {
  return `Created by capo for cluster ${c.namespace}/${c.name}`;
}

/** The tags we set at creation: the user's spec.tags plus our cluster tag. */
export function resourceTags(c: ClusterIdentity, specTags: readonly string[] = []): string[] {
  return [...new Set([...specTags, clusterTag(c)])];
}
