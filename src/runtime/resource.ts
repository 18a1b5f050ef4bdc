import type { KubernetesObject } from "@kubernetes/client-node";

/** Identifies a kind of Kubernetes object and where its REST endpoints live. */
export interface ResourceType {
  /** API group; "" for the core group (ConfigMap, Secret, Event). */
  group: string;
  version: string;
  /** Lower-case plural used in URLs, e.g. "openstackclusters". */
  plural: string;
  kind: string;
  /** Cluster-scoped resources set this to false; namespaced is the default. */
  namespaced?: boolean;
}

/** A namespaced object's cache and queue key: "namespace/name" (just "name" when cluster-scoped). */
export type ObjectKey = string;

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** "kind.group" or just "kind" for core; used in log fields and metric labels. */
export function typeName(type: ResourceType): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

/** REST path of a collection or of one object (optionally of its subresource). */
export function resourcePath(
  type: ResourceType,
  opts: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = type.namespaced !== false && opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : "";
  let path = `${base}${ns}/${type.plural}`;
  if (opts.name !== undefined) path += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource !== undefined) path += `/${opts.subresource}`;
  return path;
}

export function keyOf(obj: KubernetesObject): ObjectKey {
  const name = obj.metadata?.name ?? "";
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function keyFor(namespace: string | undefined, name: string): ObjectKey {
  return namespace ? `${namespace}/${name}` : name;
}

export function parseKey(key: ObjectKey): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The resources the runtime itself needs (leases, events) and the ones controllers commonly watch. */
export const CoreTypes = {
  configMap: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap" },
  secret: { group: "", version: "v1", plural: "secrets", kind: "Secret" },
  event: { group: "", version: "v1", plural: "events", kind: "Event" },
  namespace: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease" },
} as const satisfies Record<string, ResourceType>;

export const CapiTypes = {
  cluster: { group: "cluster.x-k8s.io", version: "v1beta2", plural: "clusters", kind: "Cluster" },
  machine: { group: "cluster.x-k8s.io", version: "v1beta2", plural: "machines", kind: "Machine" },
} as const satisfies Record<string, ResourceType>;
