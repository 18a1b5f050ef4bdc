import type { KubernetesObject } from "@kubernetes/client-node";
import type { OpenStackClusterSpec, OpenStackClusterStatus } from "../../api/index.js";
import type { ResourceType } from "../../runtime/index.js";
import type { Condition } from "../conditions.js";

export const OpenStackClusterType = {
  group: "infrastructure.cluster.x-k8s.io",
  version: "v1beta2",
  plural: "openstackclusters",
  kind: "OpenStackCluster",
} as const satisfies ResourceType;

export const CLUSTER_FINALIZER = "openstackcluster.infrastructure.cluster.x-k8s.io";
export const PAUSED_ANNOTATION = "cluster.x-k8s.io/paused";
export const MANAGED_BY_LABEL = "cluster.x-k8s.io/managed-by";
export const CAPI_GROUP = "cluster.x-k8s.io";

export type ClusterStatus = Omit<OpenStackClusterStatus, "conditions"> & { conditions?: Condition[] };

export interface OpenStackClusterObject extends KubernetesObject {
  spec: OpenStackClusterSpec;
  status?: ClusterStatus;
}

/** The parts of a CAPI v1beta2 Cluster this controller reads. */
export interface CapiCluster extends KubernetesObject {
  spec?: { paused?: boolean; infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } };
}

/** Condition types, one per reconcile step, and Ready summarising them. */
export const Conditions = {
  ready: "Ready",
  paused: "Paused",
  externalNetwork: "ExternalNetworkReady",
  network: "NetworkReady",
  securityGroups: "SecurityGroupsReady",
  apiEndpoint: "APIEndpointReady",
  failureDomains: "FailureDomainsReady",
  bastion: "BastionReady",
} as const;
