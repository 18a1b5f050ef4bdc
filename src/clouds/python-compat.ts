import { isMapping } from "./parse.js";

/** Python's str() of a YAML scalar, which is what openstacksdk stores for auth values. */
export function pyStr(v: unknown): string {
  if (v === true) return "True";
  if (v === false) return "False";
  if (v === null || v === undefined) return "None";
  return String(v);
}

/** openstacksdk's normalize_keys: '-' becomes '_' in keys, ints and floats become strings (booleans stay). */
export function normalizeKeys(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const k = key.replace(/-/g, "_");
    if (isMapping(value)) out[k] = normalizeKeys(value);
    else if (typeof value === "number" && k !== "api_timeout" && k !== "verbose_level") out[k] = pyStr(value);
    else out[k] = value;
  }
  return out;
}

/** openstacksdk's get_boolean: only a real boolean or the text "true" (any case) is true. */
export function pyBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return v.toLowerCase() === "true";
  return false;
}
