type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * RFC 7386 merge patch that turns `before` into `after`: changed keys carry the new value, removed keys
 * carry null, arrays are replaced whole. Returns undefined when nothing differs.
 */
export function createMergePatch(before: unknown, after: unknown): Record<string, Json> | undefined {
  if (!isPlainObject(before) || !isPlainObject(after)) throw new Error("merge patches are computed between objects");
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(before)) {
    if (!(key in after) || after[key] === undefined) {
      if (before[key] !== undefined) patch[key] = null;
    }
  }
  for (const [key, value] of Object.entries(after)) {
    if (value === undefined) continue;
    const old = before[key];
    if (isPlainObject(old) && isPlainObject(value)) {
      const sub = createMergePatch(old, value);
      if (sub) patch[key] = sub;
    } else if (!jsonEqual(old, value)) {
      patch[key] = value as Json;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * Deep equality of JSON values, whatever the order of object keys: the apiserver returns an object's keys sorted
 * (Go marshals maps in key order), so a condition we build with `type` first and the same condition as stored differ
 * as text but not as JSON. Comparing text made every pass rewrite unchanged conditions.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    if (keys.length !== Object.keys(b).filter((k) => b[k] !== undefined).length) return false;
    return keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}
