import type { KubernetesObject } from "@kubernetes/client-node";
import { parseLabelSelector } from "./label-selector.js";
import { keyFor, keyOf, type ObjectKey } from "./resource.js";

/** Read access to an informer's local copy of one resource type. */
export interface CacheReader<T extends KubernetesObject> {
  get(key: ObjectKey): T | undefined;
  getByName(namespace: string | undefined, name: string): T | undefined;
  /** Every cached object, optionally only in one namespace and/or matching a label selector string. */
  list(opts?: { namespace?: string; labelSelector?: string }): T[];
  keys(): ObjectKey[];
}

/** The store behind an informer. Objects are frozen-by-convention: callers must clone before mutating. */
export class ObjectCache<T extends KubernetesObject> implements CacheReader<T> {
  private readonly items = new Map<ObjectKey, T>();

  get(key: ObjectKey): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(keyFor(namespace, name));
  }

  list(opts: { namespace?: string; labelSelector?: string } = {}): T[] {
    const match = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const out: T[] = [];
    for (const obj of this.items.values()) {
      if (opts.namespace !== undefined && obj.metadata?.namespace !== opts.namespace) continue;
      if (match && !match(obj.metadata?.labels)) continue;
      out.push(obj);
    }
    return out;
  }

  keys(): ObjectKey[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Stores obj and returns the previous version, if any. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    return old;
  }

  remove(key: ObjectKey): T | undefined {
    const old = this.items.get(key);
    this.items.delete(key);
    return old;
  }
}
