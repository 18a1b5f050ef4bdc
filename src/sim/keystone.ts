import { randomBytes } from "node:crypto";
import type { SimContext } from "./context.js";
import { UNAUTHORIZED_MESSAGE, keystoneError, unauthorized } from "./errors.js";
import type { AuthContext, SimRequest } from "./http.js";
import { Router, asRecord } from "./http.js";
import type { AppCred, Project, Token, User, World } from "./world.js";
import { hashSecret, hexId, randomSecret } from "./world.js";

/** Keystone v3 under /identity/v3: tokens (password, application_credential, token), catalog, app creds. */

export const ROLES = [
  { id: "132950938e83411a97bcec64700553c1", name: "reader" },
  { id: "28abc77a6f2d47ddbaaa3e88c69a0d6e", name: "member" },
  { id: "f852917efc5844b3815a42dc49d74123", name: "load-balancer_member" },
];

export const KEYSTONE_VERSION = (authUrl: string) => ({
  id: "v3.14",
  links: [{ href: `${authUrl}/`, rel: "self" }],
  "media-types": [{ base: "application/json", type: "application/vnd.openstack.identity-v3+json" }],
  status: "stable",
  updated: "2020-04-07T00:00:00Z",
});

function auditId(): string {
  return randomBytes(16).toString("base64url").slice(0, 22);
}

function tokenString(): string {
  // Fernet tokens are url-safe base64 starting with gAAAAA; clients only treat them as opaque.
  return `gAAAAA${randomBytes(135).toString("base64url")}`;
}

/** The catalog; `service` names the simulated service an entry points at when its type is an alias. */
const SERVICES: { type: string; name: string; path: string; service?: string }[] = [
  { type: "identity", name: "keystone", path: "/identity/v3/" },
  { type: "compute", name: "nova", path: "/compute/v2.1" },
  { type: "network", name: "neutron", path: "/networking" },
  { type: "image", name: "glance", path: "/image" },
  { type: "load-balancer", name: "octavia", path: "/load-balancer" },
  { type: "block-storage", name: "cinder", path: "/volume/v3/{project_id}" },
  { type: "volumev3", name: "cinderv3", path: "/volume/v3/{project_id}", service: "block-storage" },
];

export function catalog(ctx: SimContext, projectId: string): unknown[] {
  const ids = ctx.world.data.catalogIds;
  const stable = (k: string): string => (ids[k] ??= hexId());
  const listed = SERVICES.filter((s) => ctx.world.hasService(s.service ?? s.type));
  return listed.map((s) => ({
    endpoints: ["public", "internal", "admin"].map((iface) => ({
      id: stable(`${s.type}/${iface}`),
      interface: iface,
      region: ctx.world.region,
      region_id: ctx.world.region,
      url: ctx.url + s.path.replace("{project_id}", projectId),
    })),
    id: stable(s.type),
    name: s.name,
    type: s.type,
  }));
}

export function tokenBody(ctx: SimContext, t: Token, withCatalog: boolean): Record<string, unknown> {
  const w = ctx.world;
  const user = w.data.users[t.userId] as User;
  const project = w.data.projects[t.projectId] as Project;
  const domainOf = (id: string) => ({ id, name: w.data.domains[id]?.name ?? id });
  const body: Record<string, unknown> = {
    audit_ids: t.auditIds,
    ...(withCatalog ? { catalog: catalog(ctx, t.projectId) } : {}),
    expires_at: t.expiresAt,
    is_domain: false,
    issued_at: t.issuedAt,
    methods: t.methods,
    project: { domain: domainOf(project.domainId), id: project.id, name: project.name },
    roles: ROLES,
    user: { domain: domainOf(user.domainId), id: user.id, name: user.name, password_expires_at: null },
  };
  if (t.appCredId) {
    const ac = w.data.appCreds[t.appCredId];
    body["application_credential"] = { id: t.appCredId, name: ac?.name ?? "", restricted: true };
  }
  return body;
}

function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".000000Z");
}

function issue(w: World, userId: string, projectId: string, methods: string[], extra: Partial<Token> = {}): Token {
  const now = Date.now();
  const t: Token = {
    id: tokenString(),
    userId,
    projectId,
    methods,
    auditIds: [auditId()],
    issuedAt: isoMicros(now),
    expiresAt: isoMicros(now + w.tokenTtlSeconds * 1000),
    ...extra,
  };
  w.data.tokens[t.id] = t;
  w.touch();
  return t;
}

/** The caller behind an X-Auth-Token, or undefined when missing, unknown or expired. */
export function validateToken(w: World, tokenId: string | undefined): Token | undefined {
  if (!tokenId) return undefined;
  const t = w.data.tokens[tokenId];
  if (!t) return undefined;
  if (Date.parse(t.expiresAt) <= Date.now()) {
    delete w.data.tokens[tokenId];
    return undefined;
  }
  return t;
}

export function pruneExpiredTokens(w: World): void {
  const now = Date.now();
  for (const [id, t] of Object.entries(w.data.tokens)) if (Date.parse(t.expiresAt) <= now) delete w.data.tokens[id];
}

function findDomain(w: World, ref: unknown): string | undefined {
  const d = asRecord(ref);
  if (!d) return undefined;
  if (typeof d["id"] === "string") return w.data.domains[d["id"]] ? d["id"] : undefined;
  if (typeof d["name"] === "string") return Object.values(w.data.domains).find((x) => x.name === d["name"])?.id;
  return undefined;
}

function findUser(w: World, ref: Record<string, unknown>): User | undefined {
  if (typeof ref["id"] === "string") return w.data.users[ref["id"]];
  if (typeof ref["name"] === "string") {
    const domainId = findDomain(w, ref["domain"]);
    if (!domainId) return undefined;
    return Object.values(w.data.users).find((u) => u.name === ref["name"] && u.domainId === domainId);
  }
  return undefined;
}

export function keystoneRoutes(ctx: SimContext): Router {
  const w = (): World => ctx.world;
  const r = new Router();
  const unauth = () => keystoneError(401, UNAUTHORIZED_MESSAGE, { "www-authenticate": `Keystone uri="${ctx.authUrl}"` });
  const bad = (m: string) => keystoneError(400, m);

  r.get("/", () => ({ status: 200, body: { version: KEYSTONE_VERSION(ctx.authUrl) } }));

  r.post("/auth/tokens", (req) => {
    const auth = asRecord(asRecord(req.body)?.["auth"]);
    if (!auth) throw bad("Expecting to find auth in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
    const identity = asRecord(auth["identity"]);
    if (!identity) throw bad("Expecting to find identity in auth. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
    const methods = identity["methods"];
    if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === "string")) {
      throw bad("Invalid input for field 'identity/methods': [] is too short");
    }
    let user: User | undefined;
    let appCred: AppCred | undefined;
    let methodsOut: string[] = [];
    let auditIds: string[] | undefined;
    let inheritedProject: string | undefined;
    const method = methods[0] as string;
    if (method === "password") {
      const pw = asRecord(asRecord(identity["password"])?.["user"]);
      if (!pw) throw bad("Expecting to find user in password. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
      user = findUser(w(), pw);
      if (!user || typeof pw["password"] !== "string" || hashSecret(pw["password"]) !== user.passwordHash) throw unauth();
      methodsOut = ["password"];
    } else if (method === "application_credential") {
      const ac = asRecord(identity["application_credential"]);
      if (!ac || typeof ac["secret"] !== "string") throw unauth();
      if (typeof ac["id"] === "string") appCred = w().data.appCreds[ac["id"]];
      else if (typeof ac["name"] === "string") {
        const u = asRecord(ac["user"]) ? findUser(w(), asRecord(ac["user"]) as Record<string, unknown>) : undefined;
        appCred = u ? Object.values(w().data.appCreds).find((a) => a.name === ac["name"] && a.userId === u.id) : undefined;
      }
      if (!appCred || hashSecret(ac["secret"]) !== appCred.secretHash) throw unauth();
      if (appCred.expiresAt && Date.parse(appCred.expiresAt) <= Date.now()) throw unauth();
      user = w().data.users[appCred.userId];
      methodsOut = ["application_credential"];
    } else if (method === "token") {
      const old = validateToken(w(), asRecord(identity["token"])?.["id"] as string | undefined);
      if (!old) throw keystoneError(404, "Could not recognize Fernet token");
      user = w().data.users[old.userId];
      methodsOut = [...new Set([...old.methods, "token"])];
      auditIds = [auditId(), old.auditIds[0] as string];
      inheritedProject = old.projectId;
      if (old.appCredId) {
        appCred = w().data.appCreds[old.appCredId];
      }
    } else {
      throw keystoneError(401, `Attempted to authenticate with an unsupported method.`);
    }
    if (!user) throw unauth();

    let projectId: string | undefined;
    const scope = asRecord(auth["scope"]);
    const sp = asRecord(scope?.["project"]);
    if (appCred) {
      if (sp) throw keystoneError(401, "Application credentials cannot request a scope.");
      projectId = appCred.projectId;
    } else if (sp) {
      let project: Project | undefined;
      if (typeof sp["id"] === "string") project = w().data.projects[sp["id"]];
      else if (typeof sp["name"] === "string") {
        const domainId = findDomain(w(), sp["domain"]);
        project = Object.values(w().data.projects).find((p) => p.name === sp["name"] && p.domainId === domainId);
      }
      if (!project || !user.projectIds.includes(project.id)) throw unauth();
      projectId = project.id;
    } else if (inheritedProject) {
      projectId = inheritedProject;
    } else {
      projectId = user.projectIds[0];
    }
    if (!projectId) throw unauth();
    const token = issue(w(), user.id, projectId, methodsOut, {
      ...(auditIds ? { auditIds } : {}),
      ...(appCred ? { appCredId: appCred.id } : {}),
    });
    const noCatalog = req.query.has("nocatalog");
    return { status: 201, body: { token: tokenBody(ctx, token, !noCatalog) }, headers: { "x-subject-token": token.id } };
  });

  const subject = (req: SimRequest): Token => {
    const sub = req.headers["x-subject-token"];
    const t = validateToken(w(), typeof sub === "string" ? sub : undefined);
    if (!t) throw keystoneError(404, "Could not recognize Fernet token");
    return t;
  };
  r.get("/auth/tokens", (req) => {
    requireAuth(ctx, req);
    const t = subject(req);
    return { status: 200, body: { token: tokenBody(ctx, t, !req.query.has("nocatalog")) }, headers: { "x-subject-token": t.id } };
  });
  r.delete("/auth/tokens", (req) => {
    requireAuth(ctx, req);
    const t = subject(req);
    delete w().data.tokens[t.id];
    return { status: 204 };
  });
  r.get("/auth/catalog", (req) => {
    const a = requireAuth(ctx, req);
    return { status: 200, body: { catalog: catalog(ctx, a.projectId), links: { self: `${ctx.authUrl}/auth/catalog` } } };
  });
  const projectView = (p: Project) => ({
    description: "",
    domain_id: p.domainId,
    enabled: true,
    id: p.id,
    is_domain: false,
    links: { self: `${ctx.authUrl}/projects/${p.id}` },
    name: p.name,
    options: {},
    parent_id: p.domainId,
    tags: [],
  });
  r.get("/auth/projects", (req) => {
    const a = requireAuth(ctx, req);
    const user = w().data.users[a.userId] as User;
    const projects = user.projectIds.map((id) => w().data.projects[id]).filter((p): p is Project => !!p);
    return { status: 200, body: { links: { self: `${ctx.authUrl}/auth/projects` }, projects: projects.map(projectView) } };
  });
  r.get("/users/{user_id}/projects", (req) => {
    const a = requireAuth(ctx, req);
    if (req.params["user_id"] !== a.userId) throw keystoneError(403, "You are not authorized to perform the requested action: identity:list_user_projects.");
    const user = w().data.users[a.userId] as User;
    const projects = user.projectIds.map((id) => w().data.projects[id]).filter((p): p is Project => !!p);
    return { status: 200, body: { links: { self: `${ctx.authUrl}/users/${a.userId}/projects` }, projects: projects.map(projectView) } };
  });
  r.get("/projects/{id}", (req) => {
    const a = requireAuth(ctx, req);
    const p = w().data.projects[req.params["id"] as string];
    if (!p || p.id !== a.projectId) throw keystoneError(404, `Could not find project: ${req.params["id"]}.`);
    return { status: 200, body: { project: projectView(p) } };
  });

  // Admin-only listings: members get Keystone's policy 403, as on a real cloud.
  const adminOnly: [string, string][] = [
    ["/endpoints", "list_endpoints"],
    ["/services", "list_services"],
    ["/users", "list_users"],
    ["/projects", "list_projects"],
    ["/domains", "list_domains"],
    ["/regions", "list_regions"],
  ];
  for (const [path, action] of adminOnly) {
    r.get(path, (req) => {
      requireAuth(ctx, req);
      throw keystoneError(403, `You are not authorized to perform the requested action: identity:${action}.`);
    });
  }
  const acView = (ac: AppCred, secret?: string) => ({
    description: ac.description,
    expires_at: ac.expiresAt,
    id: ac.id,
    links: { self: `${ctx.authUrl}/application_credentials/${ac.id}` },
    name: ac.name,
    project_id: ac.projectId,
    roles: ROLES.map((x) => ({ description: null, domain_id: null, id: x.id, name: x.name, options: x.name === "load-balancer_member" ? {} : { immutable: true } })),
    ...(secret !== undefined ? { secret } : {}),
    system: null,
    unrestricted: null,
    user_id: ac.userId,
  });
  const ownUser = (req: SimRequest): AuthContext => {
    const a = requireAuth(ctx, req);
    if (req.params["user_id"] !== a.userId) {
      throw keystoneError(403, "You are not authorized to perform the requested action: identity:application_credential.");
    }
    return a;
  };
  r.post("/users/{user_id}/application_credentials", (req) => {
    const a = ownUser(req);
    const b = asRecord(asRecord(req.body)?.["application_credential"]);
    if (!b || typeof b["name"] !== "string") throw bad("Invalid input for field 'name': 'name' is a required property");
    if (Object.values(w().data.appCreds).some((x) => x.userId === a.userId && x.name === b["name"])) {
      throw keystoneError(409, "Conflict occurred attempting to store application_credential - Duplicate entry found with name " + b["name"] + ".");
    }
    const secret = typeof b["secret"] === "string" ? b["secret"] : randomSecret(64);
    const ac: AppCred = {
      id: hexId(),
      name: b["name"],
      secretHash: hashSecret(secret),
      userId: a.userId,
      projectId: a.projectId,
      description: typeof b["description"] === "string" ? b["description"] : null,
      expiresAt: typeof b["expires_at"] === "string" ? b["expires_at"] : null,
    };
    w().data.appCreds[ac.id] = ac;
    return { status: 201, body: { application_credential: acView(ac, secret) } };
  });
  r.get("/users/{user_id}/application_credentials", (req) => {
    const a = ownUser(req);
    const name = req.query.get("name");
    const list = Object.values(w().data.appCreds).filter((x) => x.userId === a.userId && (!name || x.name === name));
    return { status: 200, body: { application_credentials: list.map((x) => acView(x)), links: { self: `${ctx.authUrl}/users/${a.userId}/application_credentials` } } };
  });
  r.get("/users/{user_id}/application_credentials/{id}", (req) => {
    const a = ownUser(req);
    const ac = w().data.appCreds[req.params["id"] as string];
    if (!ac || ac.userId !== a.userId) throw keystoneError(404, `Could not find Application Credential: ${req.params["id"]}.`);
    return { status: 200, body: { application_credential: acView(ac) } };
  });
  r.delete("/users/{user_id}/application_credentials/{id}", (req) => {
    const a = ownUser(req);
    const ac = w().data.appCreds[req.params["id"] as string];
    if (!ac || ac.userId !== a.userId) throw keystoneError(404, `Could not find Application Credential: ${req.params["id"]}.`);
    delete w().data.appCreds[ac.id];
    for (const [id, t] of Object.entries(w().data.tokens)) if (t.appCredId === ac.id) delete w().data.tokens[id];
    return { status: 204 };
  });
  return r;
}

/** Resolves X-Auth-Token for Keystone's own authenticated calls. */
export function requireAuth(ctx: SimContext, req: SimRequest): AuthContext {
  const h = req.headers["x-auth-token"];
  const t = validateToken(ctx.world, typeof h === "string" ? h : undefined);
  if (!t) throw unauthorized(ctx.authUrl);
  return { tokenId: t.id, userId: t.userId, projectId: t.projectId };
}
