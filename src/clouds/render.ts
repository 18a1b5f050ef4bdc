import { stringify } from "yaml";
import type { CloudEntry, ResolvedCloud } from "./types.js";

/** Where upstream CAPO's templates mount the CA bundle on the nodes; cloud.conf's ca-file points there. */
export const DEFAULT_CA_FILE_IN_CLUSTER = "/etc/certs/cacert";

/** The cloud's settings for rendering: the file entry as loaded, or (for OS_* clouds) one rebuilt from the credentials. */
function entryForRender(cloud: ResolvedCloud): CloudEntry {
  if (cloud.sourcePath) return structuredClone(cloud.entry);
  const a = cloud.auth;
  const auth: Record<string, string> = { auth_url: a.authUrl };
  const put = (k: string, v: string | undefined): void => {
    if (v) auth[k] = v;
  };
  if (a.type === "password" || a.type === "v3applicationcredential") {
    put("username", a.username);
    put("user_id", a.userId);
    put("user_domain_name", a.userDomainName);
    put("user_domain_id", a.userDomainId);
  }
  if (a.type === "password") put("password", a.password);
  if (a.type === "v3applicationcredential") {
    put("application_credential_id", a.applicationCredentialId);
    put("application_credential_name", a.applicationCredentialName);
    put("application_credential_secret", a.applicationCredentialSecret);
  }
  if (a.type === "token") put("token", a.token);
  if (a.type !== "v3applicationcredential") {
    put("project_name", a.projectName);
    put("project_id", a.projectId);
    put("project_domain_name", a.projectDomainName);
    put("project_domain_id", a.projectDomainId);
  }
  const entry: CloudEntry = { auth, auth_type: a.type };
  if (cloud.regionName) entry["region_name"] = cloud.regionName;
  if (cloud.interface !== "public") entry["interface"] = cloud.interface;
  if (!cloud.verify) entry["verify"] = false;
  if (cloud.cacertPath) entry["cacert"] = cloud.cacertPath;
  return entry;
}

/** A clouds.yaml holding only this cloud; `cacertPathInCluster` replaces the cacert path (the file moves into a Secret). */
export function renderSingleCloudYaml(cloud: ResolvedCloud, opts: { cacertPathInCluster?: string } = {}): string {
  const entry = entryForRender(cloud);
  if (opts.cacertPathInCluster && (entry["cacert"] !== undefined || cloud.cacertPem)) {
    entry["cacert"] = opts.cacertPathInCluster;
  }
  return stringify({ clouds: { [cloud.name]: entry } }, { lineWidth: 0 });
}

/** A value in double quotes as gcfg (the INI dialect of cloud.conf) reads it back unchanged. */
export function gcfgQuote(v: string): string {
  const escaped = v
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\t/g, "\\t")
    .replace(/\r/g, "");
  return `"${escaped}"`;
}

/**
 * The `[Global]` section of the OpenStack cloud provider's cloud.conf, with the keys and order upstream CAPO's
 * env.rc writes (domain-name is the user's domain, falling back to domain_name, as there).
 */
export function renderCloudConf(cloud: ResolvedCloud, opts: { caFile?: string } = {}): string {
  const a = cloud.auth;
  const lines = ["[Global]"];
  const put = (key: string, v: string | undefined): void => {
    if (v) lines.push(`${key}=${gcfgQuote(v)}`);
  };
  put("auth-url", a.authUrl);
  if (a.type !== "token") {
    put("username", a.username);
    put("user-id", a.userId);
  }
  if (a.type === "password") put("password", a.password);
  if (a.type !== "v3applicationcredential") {
    put("tenant-id", a.projectId);
    put("tenant-name", a.projectName);
  }
  if (a.type !== "token") {
    put("domain-name", a.userDomainName);
    put("domain-id", a.userDomainId);
  }
  if (a.type !== "v3applicationcredential") {
    // Only when the project lives in another domain than the user: otherwise domain-name covers both.
    const userDomainName = a.type === "password" ? a.userDomainName : undefined;
    const userDomainId = a.type === "password" ? a.userDomainId : undefined;
    if (a.projectDomainName && a.projectDomainName !== userDomainName) put("tenant-domain-name", a.projectDomainName);
    if (a.projectDomainId && a.projectDomainId !== userDomainId) put("tenant-domain-id", a.projectDomainId);
  }
  if (cloud.cacertPem !== undefined || cloud.cacertPath) put("ca-file", opts.caFile ?? DEFAULT_CA_FILE_IN_CLUSTER);
  put("region", cloud.regionName);
  if (a.type === "v3applicationcredential") {
    put("application-credential-name", a.applicationCredentialName);
    put("application-credential-id", a.applicationCredentialId);
    put("application-credential-secret", a.applicationCredentialSecret);
  }
  return lines.join("\n") + "\n";
}

/** The variable names `capo env` sets, as upstream's env.rc exports them. */
export const ENV_VAR_NAMES = [
  "CAPO_CLOUD",
  "OPENSTACK_CLOUD",
  "OPENSTACK_CLOUD_YAML_B64",
  "OPENSTACK_CLOUD_CACERT_B64",
  "OPENSTACK_CLOUD_PROVIDER_CONF_B64",
] as const;

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** What env.rc exports; without a CA bundle the cacert is base64 of "\n" ("Cg=="), as env.rc's `echo "" | base64`. */
export function renderEnvVars(cloud: ResolvedCloud): Record<string, string> {
  return {
    CAPO_CLOUD: cloud.name,
    OPENSTACK_CLOUD: cloud.name,
    OPENSTACK_CLOUD_YAML_B64: b64(renderSingleCloudYaml(cloud)),
    OPENSTACK_CLOUD_CACERT_B64: b64(cloud.cacertPem ?? "\n"),
    OPENSTACK_CLOUD_PROVIDER_CONF_B64: b64(renderCloudConf(cloud)),
  };
}
