import type { KubernetesObject } from "@kubernetes/client-node";
import { keyOf, typeName, type ResourceType } from "./resource.js";

/** How many of our latest writes are remembered per object (a reconcile writes a handful at most). */
const PER_OBJECT = 16;

/** Not a resourceVersion: marks an object our latest write deleted, so no version of it is the latest own. */
const DELETED_BY_US = "(deleted)";

/**
 * The resourceVersions our own writes produced, per object. A watch event carrying one of them shows our write
 * coming back, so it can be told from a change someone else made (a user editing status, a status wiped by a
 * move) without comparing contents. resourceVersions of one object never repeat, so an old entry can never match a
 * later event by mistake; the list is bounded and dropped when the object is deleted.
 */
export class OwnWrites {
  private readonly byObject = new Map<string, string[]>();

  /** Remembers the object as a write of ours returned it. */
  record(type: ResourceType, obj: KubernetesObject | undefined): void {
    const rv = obj?.metadata?.resourceVersion;
    if (!obj || !rv) return;
    const id = this.id(type, obj);
    const list = this.byObject.get(id) ?? [];
    list.push(rv);
    // Removing the last finalizer of a deleting object deletes it, yet the apiserver answers with the version from
    // before (which the watch also shows, as a MODIFIED ahead of the DELETED): no cached copy is current after that.
    if (obj.metadata?.deletionTimestamp && !obj.metadata.finalizers?.length) list.push(DELETED_BY_US);
    while (list.length > PER_OBJECT) list.shift();
    this.byObject.set(id, list);
  }

  /** True when this version of the object is one we wrote. */
  isOwn(type: ResourceType, obj: KubernetesObject): boolean {
    const rv = obj.metadata?.resourceVersion;
    return !!rv && (this.byObject.get(this.id(type, obj))?.includes(rv) ?? false);
  }

  /**
   * True when this version of the object is the one our latest write produced, or when we have not written the
   * object: a cache holding it then does not lag behind a write of ours.
   */
  isLatestOwn(type: ResourceType, obj: KubernetesObject): boolean {
    const list = this.byObject.get(this.id(type, obj));
    return !list || list[list.length - 1] === obj.metadata?.resourceVersion;
  }

  /** Forgets an object (it was deleted). */
  forget(type: ResourceType, obj: KubernetesObject): void {
    this.byObject.delete(this.id(type, obj));
  }

  /** Number of objects with remembered writes (for tests). */
  get size(): number {
    return this.byObject.size;
  }

  private id(type: ResourceType, obj: KubernetesObject): string {
    return `${typeName(type)}:${keyOf(obj)}`;
  }
}
