import type { KubernetesObject } from "@kubernetes/client-node";
import type { CacheLookup } from "./controller.js";
import { keyFor, keyOf, type ObjectKey, type ResourceType } from "./resource.js";

export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";

/** Maps an object to the keys of its owners of the given kind (and API group), e.g. OpenStackMachine -> Machine. */
export function ownerKeys(obj: KubernetesObject, kind: string, group?: string): ObjectKey[] {
  return (obj.metadata?.ownerReferences ?? [])
    .filter((o) => o.kind === kind && (group === undefined || o.apiVersion.split("/")[0] === group))
    .map((o) => keyFor(obj.metadata?.namespace, o.name));
}

/**
 * Maps a CAPI object with a v1beta2 reference (`{apiGroup, kind, name}`, or v1beta1 `{apiVersion, kind, name}`)
 * at `spec.<field>` to the referenced object's key when its kind matches; e.g. Cluster.spec.infrastructureRef.
 */
export function refKeys(obj: KubernetesObject, field: string, kind: string): ObjectKey[] {
  const spec = (obj as { spec?: Record<string, unknown> }).spec;
  const ref = spec?.[field] as { kind?: string; name?: string; namespace?: string } | undefined;
  if (!ref?.name || ref.kind !== kind) return [];
  return [keyFor(ref.namespace ?? obj.metadata?.namespace, ref.name)];
}

/** Keys of cached objects of `type` in obj's namespace carrying label `label` = obj's name (e.g. cluster-name). */
export function labelledKeys(obj: KubernetesObject, cache: CacheLookup, type: ResourceType, label: string): ObjectKey[] {
  const name = obj.metadata?.name;
  if (!name) return [];
  return cache.list(type, { namespace: obj.metadata?.namespace, labelSelector: `${label}=${name}` }).map(keyOf);
}

/** Keys of cached objects of `type` in obj's namespace for which `uses(candidate, objName)` holds, e.g. Secret -> clusters. */
export function usersOf(
  obj: KubernetesObject,
  cache: CacheLookup,
  type: ResourceType,
  uses: (candidate: KubernetesObject, name: string) => boolean,
): ObjectKey[] {
  const name = obj.metadata?.name;
  if (!name) return [];
  return cache
    .list(type, { namespace: obj.metadata?.namespace })
    .filter((c) => uses(c, name))
    .map(keyOf);
}
