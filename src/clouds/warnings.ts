import { isMapping } from "./parse.js";
import type { CloudEntry } from "./types.js";

/**
 * Keys found inside `auth` that are no option of keystoneauth's plugins: python-openstackclient passes them on and
 * fails ("unexpected keyword argument"), and capo ignores them. Each maps to the spelling that is supported.
 */
const MISPLACED_AUTH_KEYS: Record<string, string> = {
  version: "identity_api_version: 3 beside auth (not inside it)",
  identity_api_version: "identity_api_version beside auth (not inside it)",
  region_name: "region_name beside auth (not inside it)",
  interface: "interface beside auth (not inside it)",
};

/**
 * What in one cloud's entry is accepted silently but does not do what the user meant. The messages name the file,
 * cloud and key only, never a value (values may be secrets).
 */
export function cloudEntryWarnings(entry: CloudEntry, source: string, cloud: string): string[] {
  const auth = entry["auth"];
  if (!isMapping(auth)) return [];
  const warnings: string[] = [];
  for (const key of Object.keys(auth)) {
    const normalized = key.replace(/-/g, "_");
    const supported = MISPLACED_AUTH_KEYS[normalized];
    if (!supported) continue;
    warnings.push(
      `${source}: cloud "${cloud}" key auth.${key} is not supported: capo ignores it and python-openstackclient ` +
        `rejects it ("unexpected keyword argument '${normalized}'"); use ${supported}`,
    );
  }
  return warnings;
}
