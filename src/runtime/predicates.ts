import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";

/**
 * Decides whether an update of a watched object is worth a reconcile. Add, delete and resync events always are;
 * updates are filtered so that our own status writes (and other status churn we never read) wake nothing, as
 * controller-runtime's GenerationChanged + metadata predicates do.
 */
export type ChangePredicate = (old: KubernetesObject, cur: KubernetesObject) => boolean;

/** The metadata fields a reconcile reads; resourceVersion and managedFields change on every write and are not here. */
export type MetadataField = "labels" | "annotations" | "finalizers" | "ownerReferences" | "deletionTimestamp";

const ALL_METADATA: readonly MetadataField[] = ["labels", "annotations", "finalizers", "ownerReferences", "deletionTimestamp"];

/** True when metadata.generation moved: the spec changed (status writes never bump it). */
export const generationChanged: ChangePredicate = (old, cur) => old.metadata?.generation !== cur.metadata?.generation;

/** True when one of the given metadata fields differs (default: all that a reconcile may read). */
export function metadataChanged(fields: readonly MetadataField[] = ALL_METADATA): ChangePredicate {
  return (old, cur) => fields.some((f) => !isDeepStrictEqual(old.metadata?.[f], cur.metadata?.[f]));
}

/** True when the value at one of the dotted paths differs, e.g. "status.nodeRef", "data". */
export function fieldsChanged(...paths: string[]): ChangePredicate {
  const split = paths.map((p) => p.split("."));
  return (old, cur) => split.some((p) => !isDeepStrictEqual(valueAt(old, p), valueAt(cur, p)));
}

/** True when any predicate is. */
export function anyOf(...preds: ChangePredicate[]): ChangePredicate {
  return (old, cur) => preds.some((p) => p(old, cur));
}

/** True when status differs in any way (who wrote it is for the caller to tell). */
export const statusChanged: ChangePredicate = fieldsChanged("status");

/** Spec or read metadata changed: the default for a controller's primary objects. */
export const specOrMetadataChanged: ChangePredicate = anyOf(generationChanged, metadataChanged());

function valueAt(obj: unknown, path: string[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
