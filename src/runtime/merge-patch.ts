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
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value as Json;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
