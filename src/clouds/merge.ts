import { isMapping } from "./parse.js";

/**
 * Deep merge as openstacksdk's merge_clouds: mappings merge key by key, anything else in `over` replaces `base`.
 * Neither input is modified.
 */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isMapping(prev) && isMapping(v) ? deepMerge(prev, v) : v;
  }
  return out;
}
