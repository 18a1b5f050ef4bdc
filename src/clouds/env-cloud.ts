import type { CloudEntry } from "./types.js";

/** OS_* variables that only select or locate a cloud; on their own they do not make an `envvars` cloud. */
const SELECTORS = new Set(["OS_CLOUD", "OS_REGION_NAME", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD_NAME"]);

/** The name the Python client gives the cloud built from OS_* variables. */
export function envCloudName(env: NodeJS.ProcessEnv): string {
  return env["OS_CLOUD_NAME"] || "envvars";
}

/**
 * The cloud described by OS_* variables, as openstacksdk builds it: every OS_X becomes key `x` at the top of the
 * cloud (the alias rules then move auth keys into `auth`). Undefined when only selectors are set.
 */
export function cloudFromEnv(env: NodeJS.ProcessEnv): CloudEntry | undefined {
  const keys = Object.keys(env).filter(
    (k) => k.startsWith("OS_") && !k.startsWith("OS_TEST") && !k.startsWith("OS_STD") && !k.startsWith("OS_LOG"),
  );
  if (!keys.some((k) => !SELECTORS.has(k))) return undefined;
  const entry: CloudEntry = {};
  for (const k of keys) entry[k.slice(3).toLowerCase()] = env[k];
  return entry;
}
