import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import { CapiTypes, CoreTypes, type ResourceType } from "../runtime/index.js";

/** The Cluster API and capo kinds the CAPI core stand-in reads and writes (all v1beta2). */
export const StandInTypes = {
  cluster: CapiTypes.cluster,
  machine: CapiTypes.machine,
  machineDeployment: { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machinedeployments", kind: "MachineDeployment" },
  machineHealthCheck: { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machinehealthchecks", kind: "MachineHealthCheck" },
  kubeadmControlPlane: {
    group: "controlplane.cluster.x-k8s.io",
    version: "v1beta2",
    plural: "kubeadmcontrolplanes",
    kind: "KubeadmControlPlane",
  },
  kubeadmConfigTemplate: {
    group: "bootstrap.cluster.x-k8s.io",
    version: "v1beta2",
    plural: "kubeadmconfigtemplates",
    kind: "KubeadmConfigTemplate",
  },
  openStackCluster: { group: "infrastructure.cluster.x-k8s.io", version: "v1beta2", plural: "openstackclusters", kind: "OpenStackCluster" },
  openStackMachine: { group: "infrastructure.cluster.x-k8s.io", version: "v1beta2", plural: "openstackmachines", kind: "OpenStackMachine" },
  openStackMachineTemplate: {
    group: "infrastructure.cluster.x-k8s.io",
    version: "v1beta2",
    plural: "openstackmachinetemplates",
    kind: "OpenStackMachineTemplate",
  },
  secret: CoreTypes.secret,
} as const satisfies Record<string, ResourceType>;

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
export const CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane";
export const CONTROL_PLANE_NAME_LABEL = "cluster.x-k8s.io/control-plane-name";
export const DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name";
/** Marks every object the stand-in created, so nobody mistakes them for the work of the real CAPI managers. */
export const SIMULATED_ANNOTATION = "capo-ts.dev/simulated-by";
export const SIMULATED_BY = "capi-core-stand-in";
/** The finalizers real CAPI core puts on Clusters and Machines; the stand-in uses the same ones. */
export const CLUSTER_FINALIZER = "cluster.cluster.x-k8s.io";
export const MACHINE_FINALIZER = "machine.cluster.x-k8s.io";

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ObjectRef {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

export interface ClusterObject extends KubernetesObject {
  spec?: {
    paused?: boolean;
    infrastructureRef?: ObjectRef;
    controlPlaneRef?: ObjectRef;
    controlPlaneEndpoint?: { host?: string; port?: number };
  };
  status?: {
    phase?: string;
    initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean };
    failureDomains?: { name: string; controlPlane?: boolean; attributes?: Record<string, string> }[];
    conditions?: Condition[];
    controlPlane?: { desiredReplicas?: number; replicas?: number; readyReplicas?: number; availableReplicas?: number; upToDateReplicas?: number };
    workers?: { desiredReplicas?: number; replicas?: number; readyReplicas?: number; availableReplicas?: number; upToDateReplicas?: number };
  };
}

export interface KubeadmControlPlaneObject extends KubernetesObject {
  spec?: { replicas?: number; version?: string; machineTemplate?: { spec?: { infrastructureRef?: ObjectRef } } };
}

export interface MachineDeploymentObject extends KubernetesObject {
  spec?: {
    clusterName?: string;
    replicas?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: {
        version?: string;
        failureDomain?: string;
        bootstrap?: { configRef?: ObjectRef };
        infrastructureRef?: ObjectRef;
      };
    };
  };
}

export interface MachineObject extends KubernetesObject {
  spec?: {
    clusterName?: string;
    version?: string;
    failureDomain?: string;
    providerID?: string;
    bootstrap?: { dataSecretName?: string };
    infrastructureRef?: ObjectRef;
  };
  status?: {
    phase?: string;
    addresses?: { type: string; address: string }[];
    initialization?: { infrastructureProvisioned?: boolean; bootstrapDataSecretCreated?: boolean };
    conditions?: Condition[];
    failureDomain?: string;
  };
}

export interface OpenStackClusterObject extends KubernetesObject {
  spec?: { controlPlaneEndpoint?: { host?: string; port?: number } };
  status?: {
    initialization?: { provisioned?: boolean };
    failureDomains?: { name: string; controlPlane?: boolean; attributes?: Record<string, string> }[];
    conditions?: Condition[];
  };
}

export interface OpenStackMachineObject extends KubernetesObject {
  spec?: { providerID?: string } & Record<string, unknown>;
  status?: {
    initialization?: { provisioned?: boolean };
    addresses?: { type: string; address: string }[];
    instanceState?: string;
    conditions?: Condition[];
  };
}

export interface OpenStackMachineTemplateObject extends KubernetesObject {
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: Record<string, unknown>;
    };
  };
}

export function ownerRefTo(obj: KubernetesObject, type: ResourceType, controller: boolean): V1OwnerReference {
  return {
    apiVersion: `${type.group}/${type.version}`,
    kind: type.kind,
    name: obj.metadata?.name ?? "",
    uid: obj.metadata?.uid ?? "",
    ...(controller ? { controller: true, blockOwnerDeletion: true } : {}),
  };
}

export function isOwnedBy(obj: KubernetesObject, owner: KubernetesObject): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === owner.metadata?.uid);
}
