import type { AuthOptions, ProjectScope } from "../clouds/types.js";

type Domain = { id: string } | { name: string };

function domain(id: string | undefined, name: string | undefined): Domain | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

function scope(s: ProjectScope): Record<string, unknown> | undefined {
  if (s.projectId) return { project: { id: s.projectId } };
  if (s.projectName) {
    const d = domain(s.projectDomainId, s.projectDomainName);
    return { project: { name: s.projectName, ...(d ? { domain: d } : {}) } };
  }
  return undefined;
}

function user(a: { userId?: string; username?: string; userDomainId?: string; userDomainName?: string }): Record<string, unknown> {
  if (a.userId) return { id: a.userId };
  const d = domain(a.userDomainId, a.userDomainName);
  return { name: a.username, ...(d ? { domain: d } : {}) };
}

/** The body of POST /v3/auth/tokens for these credentials (the shapes recorded from Keystone Zed). */
export function authRequestBody(a: AuthOptions): Record<string, unknown> {
  let identity: Record<string, unknown>;
  let sc: Record<string, unknown> | undefined;
  switch (a.type) {
    case "password":
      identity = { methods: ["password"], password: { user: { ...user(a), password: a.password } } };
      sc = scope(a);
      break;
    case "v3applicationcredential":
      identity = {
        methods: ["application_credential"],
        application_credential: a.applicationCredentialId
          ? { id: a.applicationCredentialId, secret: a.applicationCredentialSecret }
          : { name: a.applicationCredentialName, secret: a.applicationCredentialSecret, user: user(a) },
      };
      break;
    case "token":
      identity = { methods: ["token"], token: { id: a.token } };
      sc = scope(a);
      break;
  }
  return { auth: { identity, ...(sc ? { scope: sc } : {}) } };
}

/** The secrets inside credentials, for redaction. */
export function secretsOf(a: AuthOptions): string[] {
  switch (a.type) {
    case "password":
      return [a.password];
    case "v3applicationcredential":
      return [a.applicationCredentialSecret];
    case "token":
      return [a.token];
  }
}

/** The identity v3 URL from an auth_url that may lack the version, given the body of GET auth_url. */
export function identityV3FromVersions(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as { versions?: { values?: unknown[] } | unknown[]; version?: unknown };
  const list: unknown[] = Array.isArray(b.versions) ? b.versions : (b.versions?.values ?? (b.version ? [b.version] : []));
  for (const v of list) {
    const ver = v as { id?: string; status?: string; links?: { rel?: string; href?: string }[] };
    if (ver.id?.startsWith("v3")) {
      const self = ver.links?.find((l) => l.rel === "self")?.href;
      if (self) return self.replace(/\/+$/, "");
    }
  }
  return undefined;
}
