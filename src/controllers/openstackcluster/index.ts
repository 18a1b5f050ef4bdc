import type { KubernetesObject } from "@kubernetes/client-node";
import {
  CapiTypes,
  CLUSTER_NAME_LABEL,
  CoreTypes,
  defineController,
  fieldsChanged,
  keyOf,
  metadataChanged,
  specOrMetadataChanged,
  refKeys,
  usersOf,
  type CacheLookup,
  type ControllerDefinition,
  type ObjectKey,
  readPrimary,
} from "../../runtime/index.js";
import { IDENTITY_SECRET_SELECTOR } from "../credentials.js";
import { DEFAULT_VERIFY_EVERY_MS, SteadyStateMemo } from "../steady-state.js";
import { ClusterReconciler, defaultClusterReconcilerOptions, type ClusterReconcilerOptions } from "./reconcile.js";
import { CAPI_GROUP, OpenStackClusterType, type OpenStackClusterObject } from "./types.js";

export { OpenStackClusterType, CLUSTER_FINALIZER, Conditions } from "./types.js";
export type { ClusterReconcilerOptions } from "./reconcile.js";

/** OpenStackClusters in obj's namespace owned by the CAPI Cluster `clusterName`. */
function ownedBy(obj: KubernetesObject, clusterName: string, cache: CacheLookup): ObjectKey[] {
  return cache
    .list<OpenStackClusterObject>(OpenStackClusterType, { namespace: obj.metadata?.namespace })
    .filter((o) => (o.metadata?.ownerReferences ?? []).some((r) => r.kind === "Cluster" && r.apiVersion.split("/")[0] === CAPI_GROUP && r.name === clusterName))
    .map(keyOf);
}

/**
 * The OpenStackCluster controller: watches OpenStackClusters, their CAPI Clusters (paused, ownership), the identity
 * Secrets and the cluster's Machines (deletion waits for them).
 */
export function openStackClusterController(
  opts: Partial<Omit<ClusterReconcilerOptions, "memo">> & {
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    concurrency?: number;
    /** A provisioned cluster with unchanged inputs is verified in OpenStack at most this often (default 9 min). */
    verifyEveryMs?: number;
  } = {},
): ControllerDefinition {
  const { backoffBaseMs, backoffMaxMs, concurrency, verifyEveryMs, ...rest } = opts;
  const memo = new SteadyStateMemo(verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS);
  const options: ClusterReconcilerOptions = { ...defaultClusterReconcilerOptions, ...rest, memo };
  return defineController({
    name: "openstackcluster",
    // A pass may wait on Octavia for seconds; clusters must not queue behind each other (upstream's default is 10).
    concurrency: concurrency ?? 10,
    // A failed step is retried soon but not hammered: doubling from 500 ms up to 15 minutes (runtime defaults).
    ...(backoffBaseMs !== undefined ? { backoffBaseMs } : {}),
    ...(backoffMaxMs !== undefined ? { backoffMaxMs } : {}),
    primary: OpenStackClusterType,
    secondaries: [
      {
        gvk: CapiTypes.cluster,
        // Paused, infrastructureRef and controlPlaneEndpoint are spec; managed-by and pause are metadata.
        changed: specOrMetadataChanged,
        mapToPrimaryKeys: (cluster, cache) => [
          ...new Set([...refKeys(cluster, "infrastructureRef", "OpenStackCluster"), ...ownedBy(cluster, cluster.metadata?.name ?? "", cache)]),
        ],
      },
      {
        // Only identity Secrets (least privilege: not bootstrap data, kubeconfigs or Helm releases), and only their data.
        gvk: CoreTypes.secret,
        labelSelector: IDENTITY_SECRET_SELECTOR,
        changed: fieldsChanged("data"),
        mapToPrimaryKeys: (secret, cache) =>
          usersOf(secret, cache, OpenStackClusterType, (c, name) => (c as OpenStackClusterObject).spec?.identityRef?.name === name),
      },
      {
        // Deletion waits for the cluster's Machines to go: their coming and going matters, not their status.
        gvk: CapiTypes.machine,
        changed: metadataChanged(["labels"]),
        mapToPrimaryKeys: (machine, cache) => {
          const clusterName = machine.metadata?.labels?.[CLUSTER_NAME_LABEL];
          return clusterName ? ownedBy(machine, clusterName, cache) : [];
        },
      },
    ],
    async reconcile(key, ctx) {
      const obj = await readPrimary<OpenStackClusterObject>(ctx, OpenStackClusterType);
      if (!obj) return;
      return new ClusterReconciler(obj, ctx, options).run();
    },
  });
}
