import type { KubernetesObject } from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../api/index.js";
import type { OpenStackClusterSpec, OpenStackClusterStatus, OpenStackMachineSpec, OpenStackMachineStatus } from "../../api/index.js";
import type { ResourceType } from "../../runtime/index.js";

export const OpenStackMachineType: ResourceType = { group: GROUP, version: VERSION, plural: "openstackmachines", kind: "OpenStackMachine" };
export const OpenStackClusterType: ResourceType = { group: GROUP, version: VERSION, plural: "openstackclusters", kind: "OpenStackCluster" };

export const MACHINE_FINALIZER = "openstackmachine.infrastructure.cluster.x-k8s.io";
export const PAUSED_ANNOTATION = "cluster.x-k8s.io/paused";
export const CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane";

export interface OpenStackMachineObject extends KubernetesObject {
  spec: OpenStackMachineSpec;
  status?: OpenStackMachineStatus;
}

export interface OpenStackClusterObject extends KubernetesObject {
  spec: OpenStackClusterSpec;
  status?: OpenStackClusterStatus & { apiServerFloatingIP?: { id: string; ip: string } };
}

/** The parts of a CAPI v1beta2 Machine we read. */
export interface MachineObject extends KubernetesObject {
  spec?: {
    clusterName?: string;
    bootstrap?: { dataSecretName?: string };
    infrastructureRef?: { apiGroup?: string; kind?: string; name?: string };
    failureDomain?: string;
  };
  status?: { nodeRef?: { name?: string } };
}

/** The parts of a CAPI v1beta2 Cluster we read. */
export interface ClusterObject extends KubernetesObject {
  spec?: { paused?: boolean; infrastructureRef?: { apiGroup?: string; kind?: string; name?: string } };
}

export type Condition = NonNullable<OpenStackMachineStatus["conditions"]>[number];
