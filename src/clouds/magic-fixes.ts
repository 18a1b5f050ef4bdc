import { isMapping } from "./parse.js";
import { normalizeKeys, pyStr } from "./python-compat.js";
import type { CloudEntry } from "./types.js";

/** A cloud after openstacksdk's "magic fixes": aliases resolved, auth keys in `auth`, top-level settings beside it. */
export interface FixedCloud {
  authType: string;
  auth: Record<string, string>;
  settings: Record<string, unknown>;
}

/**
 * Alias groups, later names winning, as openstacksdk's _fix_backwards_auth (keys already normalized, so the
 * hyphenated spellings are covered). A value at the top of the cloud beats one inside `auth`.
 */
const ALIASES: Record<string, string[]> = {
  domain_id: ["domain_id"],
  domain_name: ["domain_name"],
  user_domain_id: ["user_domain_id"],
  user_domain_name: ["user_domain_name"],
  project_domain_id: ["project_domain_id"],
  project_domain_name: ["project_domain_name"],
  token: ["auth_token", "token"],
  passcode: ["passcode"],
  project_id: ["tenant_id", "project_id"],
  project_name: ["tenant_name", "project_name"],
};

/** Options of keystoneauth's password / application-credential / token plugins; found at the top they move into `auth`. */
const PLUGIN_OPTIONS = [
  "auth_url",
  "username",
  "user_id",
  "password",
  "application_credential_id",
  "application_credential_name",
  "application_credential_secret",
  "system_scope",
  "trust_id",
  "default_domain_id",
  "default_domain_name",
];

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = pyStr(v);
  return s === "" ? undefined : s;
}

export function applyMagicFixes(entry: CloudEntry): FixedCloud {
  const cloud = normalizeKeys(structuredClone(entry));
  const rawAuth = isMapping(cloud["auth"]) ? cloud["auth"] : {};
  delete cloud["auth"];
  const auth: Record<string, unknown> = { ...rawAuth };

  // auth_type beats the older auth_plugin
  const authType = str(cloud["auth_type"]) ?? str(cloud["auth_plugin"]) ?? "password";
  delete cloud["auth_type"];
  delete cloud["auth_plugin"];

  for (const [target, names] of Object.entries(ALIASES)) {
    let value: string | undefined;
    for (const n of names) {
      if (n in auth) {
        value = str(auth[n]) ?? value;
        delete auth[n];
      }
      if (n in cloud) {
        value = str(cloud[n]) ?? value;
        delete cloud[n];
      }
    }
    if (value !== undefined) auth[target] = value;
  }

  // *_endpoint_type is the old name of *_interface
  for (const k of Object.keys(cloud)) {
    if (k.endsWith("endpoint_type")) {
      cloud[k.replace(/endpoint_type$/, "interface")] = cloud[k];
      delete cloud[k];
    }
  }

  // One domain for both user and project when the login is project-scoped (openstacksdk's _handle_domain_id).
  const projectScoped = "project_id" in auth || "project_name" in auth;
  for (const [general, specific] of [
    ["domain_id", ["user_domain_id", "project_domain_id"]],
    ["domain_name", ["user_domain_name", "project_domain_name"]],
  ] as const) {
    if (!projectScoped) continue;
    if (general in auth) {
      for (const k of specific) if (!(k in auth)) auth[k] = auth[general];
      delete auth[general];
    }
  }

  for (const opt of PLUGIN_OPTIONS) {
    if (str(auth[opt]) === undefined && str(cloud[opt]) !== undefined) auth[opt] = cloud[opt];
    delete cloud[opt];
  }

  const cleanAuth: Record<string, string> = {};
  for (const [k, v] of Object.entries(auth)) {
    const s = str(v);
    if (s !== undefined) cleanAuth[k] = s;
  }
  return { authType, auth: cleanAuth, settings: cloud };
}
