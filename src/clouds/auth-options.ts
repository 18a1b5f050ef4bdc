import { UserError } from "../util/errors.js";
import type { FixedCloud } from "./magic-fixes.js";
import type { AuthOptions, ProjectScope, UserRef } from "./types.js";

/** Where a cloud came from, for error messages: "clouds.yaml path, cloud NAME". */
export interface CloudOrigin {
  source: string;
  cloud: string;
}

function missing(origin: CloudOrigin, key: string, fix: string): UserError {
  return new UserError(`${origin.source}: cloud "${origin.cloud}" has no ${key}; ${fix}`);
}

function projectScope(a: Record<string, string>): ProjectScope {
  return {
    projectId: a["project_id"],
    projectName: a["project_name"],
    projectDomainId: a["project_domain_id"],
    projectDomainName: a["project_domain_name"],
  };
}

function userRef(a: Record<string, string>): UserRef {
  return {
    userId: a["user_id"],
    username: a["username"],
    userDomainId: a["user_domain_id"],
    userDomainName: a["user_domain_name"],
  };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Turns the fixed-up auth mapping into typed Keystone v3 credentials, or one UserError naming the missing key. */
export function toAuthOptions(fixed: FixedCloud, origin: CloudOrigin): AuthOptions {
  const a = fixed.auth;
  const authUrl = a["auth_url"];
  if (!authUrl) throw missing(origin, "auth.auth_url", "add the Keystone URL, e.g. auth_url: https://keystone.example.com:5000/v3");
  switch (fixed.authType) {
    case "password":
    case "v3password": {
      const password = a["password"];
      if (!a["username"] && !a["user_id"]) throw missing(origin, "auth.username", "add username (or user_id)");
      if (!password) throw missing(origin, "auth.password", "add password (or put it in secure.yaml)");
      if (a["username"] && !a["user_id"] && !a["user_domain_name"] && !a["user_domain_id"]) {
        throw missing(origin, "auth.user_domain_name", "add user_domain_name (or user_domain_id, or domain_name)");
      }
      return dropUndefined({ type: "password", authUrl, password, ...userRef(a), ...projectScope(a) });
    }
    case "v3applicationcredential":
    case "applicationcredential": {
      const secret = a["application_credential_secret"];
      if (!secret) throw missing(origin, "auth.application_credential_secret", "add the application credential secret");
      const id = a["application_credential_id"];
      const name = a["application_credential_name"];
      if (!id && !name) {
        throw missing(origin, "auth.application_credential_id", "add application_credential_id (or its name with username and user_domain_name)");
      }
      if (!id && !a["user_id"] && !a["username"]) {
        throw missing(origin, "auth.username", "an application credential given by name needs username (or user_id)");
      }
      return dropUndefined({
        type: "v3applicationcredential",
        authUrl,
        applicationCredentialId: id,
        applicationCredentialName: id ? undefined : name,
        applicationCredentialSecret: secret,
        ...userRef(a),
      });
    }
    case "token":
    case "v3token": {
      const token = a["token"];
      if (!token) throw missing(origin, "auth.token", "add token");
      return dropUndefined({ type: "token", authUrl, token, ...projectScope(a) });
    }
    default:
      throw new UserError(
        `${origin.source}: cloud "${origin.cloud}" has auth_type "${fixed.authType}", which capo does not support; ` +
          `use password, v3applicationcredential or token`,
      );
  }
}
