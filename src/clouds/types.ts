/** One cloud's mapping exactly as clouds.yaml (merged with secure.yaml) holds it. */
export type CloudEntry = Record<string, unknown>;

/** A loaded clouds.yaml: where it came from and its `clouds:` mapping. */
export interface CloudsFile {
  path: string;
  clouds: Record<string, CloudEntry>;
}

export type Interface = "public" | "internal" | "admin";

/** Scope of the token: a project (by id, or by name + domain), or none (unscoped). */
export interface ProjectScope {
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
}

/** The user behind a password or application-credential-by-name login. */
export interface UserRef {
  userId?: string;
  username?: string;
  userDomainId?: string;
  userDomainName?: string;
}

export interface PasswordAuth extends ProjectScope, UserRef {
  type: "password";
  authUrl: string;
  password: string;
}

export interface ApplicationCredentialAuth extends UserRef {
  type: "v3applicationcredential";
  authUrl: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret: string;
}

export interface TokenAuth extends ProjectScope {
  type: "token";
  authUrl: string;
  token: string;
}

/** Keystone v3 credentials after the Python client's alias and fallback rules were applied. */
export type AuthOptions = PasswordAuth | ApplicationCredentialAuth | TokenAuth;

export interface ResolvedCloud {
  name: string;
  sourcePath?: string;
  /** The cloud's mapping as loaded (before alias fixes): what gets rendered back into a Secret. */
  entry: CloudEntry;
  auth: AuthOptions;
  regionName?: string;
  interface: Interface;
  verify: boolean;
  cacertPath?: string;
  cacertPem?: string;
  /** Per-service endpoint overrides from `<service>_endpoint_override` keys, by service type. */
  endpointOverrides?: Record<string, string>;
  /** Keys of the entry that are accepted but ignored (e.g. auth.version); commands print these to stderr. */
  warnings?: string[];
}
