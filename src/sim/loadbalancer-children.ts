import type { Router, SimRequest } from "./http.js";
import { octaviaError } from "./errors.js";
import { parseIp } from "./ipam.js";
import { listBody } from "./query.js";
import { checkOctaviaQuota } from "./quotas.js";
import type { Rec } from "./world.js";
import { isUuidLike, uuid } from "./world.js";
import type { LbApi } from "./loadbalancer-api.js";
import { ALGORITHMS, body, enumField, HM_TYPES, hmView, intField, invalidValue, memberView, POOL_PROTOCOLS, poolView, PROTOCOLS, strField, vf } from "./loadbalancer-api.js";

/** Listeners, pools, members and health monitors: each change puts the load balancer in PENDING_UPDATE. */
export function registerLoadBalancerChildren(r: Router, api: LbApi): void {
  const { w, ok, coll, now, get, getLb, mutable, startUpdate, lbOf, base } = api;
  // --- listeners
  r.get("/lbaas/listeners", (req) => {
    w().advance();
    return ok(listBody(req, "listeners", Object.values(coll("listeners")).filter((x) => x["project_id"] === req.auth.projectId), { alwaysLinks: true }));
  });
  r.post("/lbaas/listeners", (req) => {
    const b = body(req, "listener", ["name", "description", "loadbalancer_id", "protocol", "protocol_port", "admin_state_up", "connection_limit", "default_pool_id", "allowed_cidrs", "timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect", "insert_headers", "tags", "default_tls_container_ref", "sni_container_refs", "tls_ciphers", "tls_versions", "alpn_protocols", "client_authentication", "client_ca_tls_container_ref", "client_crl_container_ref", "project_id"]);
    const protocol = enumField(b, "protocol", PROTOCOLS, true) as string;
    const port = intField(b, "protocol_port", 1, 65535, true) as number;
    if (!isUuidLike(b["loadbalancer_id"])) throw invalidValue("loadbalancer_id", b["loadbalancer_id"], "Value should be UUID format");
    const lb = getLb(req, b["loadbalancer_id"] as string);
    const allowed = b["allowed_cidrs"];
    if (allowed !== undefined && allowed !== null && (!Array.isArray(allowed) || !allowed.every((c) => typeof c === "string" && /^[0-9a-fA-F:.]+\/\d+$/.test(c)))) {
      throw invalidValue("allowed_cidrs", JSON.stringify(allowed), "Value should be CIDR format");
    }
    mutable(lb);
    for (const id of (lb["listeners"] as { id: string }[]).map((x) => x.id)) {
      const l = coll("listeners")[id];
      if (l && l["protocol_port"] === port) {
        throw octaviaError(409, `Another Listener on this Load Balancer is already using protocol ${String(l["protocol"])} and protocol_port ${port}`);
      }
    }
    checkOctaviaQuota(w(), req.auth.projectId, "listener");
    const l: Rec = {
      admin_state_up: b["admin_state_up"] ?? true,
      allowed_cidrs: allowed ?? null,
      alpn_protocols: null,
      client_authentication: "NONE",
      client_ca_tls_container_ref: null,
      client_crl_container_ref: null,
      connection_limit: b["connection_limit"] ?? -1,
      ...base(req.auth.projectId),
      default_pool_id: null,
      default_tls_container_ref: null,
      description: strField(b, "description") ?? "",
      id: uuid(),
      insert_headers: b["insert_headers"] ?? {},
      l7policies: [],
      loadbalancers: [{ id: lb.id }],
      name: strField(b, "name") ?? "",
      protocol,
      protocol_port: port,
      sni_container_refs: [],
      timeout_client_data: b["timeout_client_data"] ?? 50000,
      timeout_member_connect: b["timeout_member_connect"] ?? 5000,
      timeout_member_data: b["timeout_member_data"] ?? 50000,
      timeout_tcp_inspect: b["timeout_tcp_inspect"] ?? 0,
      tls_ciphers: null,
      tls_versions: null,
    };
    if (Array.isArray(b["tags"])) l["tags"] = b["tags"];
    coll("listeners")[l.id] = l;
    (lb["listeners"] as { id: string }[]).push({ id: l.id });
    startUpdate(lb);
    return ok({ listener: l }, 201);
  });
  r.get("/lbaas/listeners/{id}", (req) => ok({ listener: get(req, "listeners", req.params["id"] as string, "Listener") }));
  r.put("/lbaas/listeners/{id}", (req) => {
    const l = get(req, "listeners", req.params["id"] as string, "Listener");
    const b = body(req, "listener", ["name", "description", "admin_state_up", "connection_limit", "default_pool_id", "allowed_cidrs", "timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect", "insert_headers", "tags"]);
    const lb = lbOf(l);
    mutable(lb);
    Object.assign(l, b);
    l["provisioning_status"] = "PENDING_UPDATE";
    startUpdate(lb);
    return ok({ listener: l });
  });
  r.delete("/lbaas/listeners/{id}", (req) => {
    const l = get(req, "listeners", req.params["id"] as string, "Listener");
    const lb = lbOf(l);
    mutable(lb);
    l["provisioning_status"] = "PENDING_DELETE";
    startUpdate(lb);
    return { status: 204 };
  });

  // --- pools
  r.get("/lbaas/pools", (req) => {
    w().advance();
    return ok(listBody(req, "pools", Object.values(coll("pools")).filter((x) => x["project_id"] === req.auth.projectId).map(poolView), { alwaysLinks: true }));
  });
  r.post("/lbaas/pools", (req) => {
    const b = body(req, "pool", ["name", "description", "listener_id", "loadbalancer_id", "protocol", "lb_algorithm", "admin_state_up", "session_persistence", "tags", "tls_enabled", "tls_ciphers", "tls_versions", "alpn_protocols", "ca_tls_container_ref", "crl_container_ref", "tls_container_ref", "project_id"]);
    const protocol = enumField(b, "protocol", POOL_PROTOCOLS, true) as string;
    const algorithm = enumField(b, "lb_algorithm", ALGORITHMS, true) as string;
    if (!b["listener_id"] && !b["loadbalancer_id"]) throw vf("loadbalancer_id or listener_id must be specified.");
    let listener: Rec | undefined;
    let lb: Rec;
    if (b["listener_id"]) {
      if (!isUuidLike(b["listener_id"])) throw invalidValue("listener_id", b["listener_id"], "Value should be UUID format");
      listener = get(req, "listeners", b["listener_id"] as string, "Listener");
      lb = lbOf(listener);
      if (listener["default_pool_id"]) throw octaviaError(409, `Listener ${listener.id} is already using Pool ${String(listener["default_pool_id"])}.`);
    } else {
      if (!isUuidLike(b["loadbalancer_id"])) throw invalidValue("loadbalancer_id", b["loadbalancer_id"], "Value should be UUID format");
      lb = getLb(req, b["loadbalancer_id"] as string);
    }
    mutable(lb);
    checkOctaviaQuota(w(), req.auth.projectId, "pool");
    const p: Rec = {
      admin_state_up: b["admin_state_up"] ?? true,
      alpn_protocols: null,
      ca_tls_container_ref: null,
      ...base(req.auth.projectId),
      crl_container_ref: null,
      description: strField(b, "description") ?? "",
      healthmonitor_id: null,
      id: uuid(),
      lb_algorithm: algorithm,
      listeners: listener ? [{ id: listener.id }] : [],
      loadbalancers: [{ id: lb.id }],
      members: [],
      name: strField(b, "name") ?? "",
      protocol,
      session_persistence: b["session_persistence"] ?? null,
      tls_ciphers: null,
      tls_container_ref: null,
      tls_enabled: false,
      tls_versions: null,
    };
    if (Array.isArray(b["tags"])) p["tags"] = b["tags"];
    coll("pools")[p.id] = p;
    (lb["pools"] as { id: string }[]).push({ id: p.id });
    if (listener) listener["default_pool_id"] = p.id;
    startUpdate(lb);
    return ok({ pool: poolView(p) }, 201);
  });
  r.get("/lbaas/pools/{id}", (req) => ok({ pool: poolView(get(req, "pools", req.params["id"] as string, "Pool")) }));
  r.put("/lbaas/pools/{id}", (req) => {
    const p = get(req, "pools", req.params["id"] as string, "Pool");
    const b = body(req, "pool", ["name", "description", "admin_state_up", "lb_algorithm", "session_persistence", "tags"]);
    if (b["lb_algorithm"] !== undefined) enumField(b, "lb_algorithm", ALGORITHMS, true);
    const lb = lbOf(p);
    mutable(lb);
    Object.assign(p, b);
    p["provisioning_status"] = "PENDING_UPDATE";
    startUpdate(lb);
    return ok({ pool: poolView(p) });
  });
  r.delete("/lbaas/pools/{id}", (req) => {
    const p = get(req, "pools", req.params["id"] as string, "Pool");
    const lb = lbOf(p);
    mutable(lb);
    p["provisioning_status"] = "PENDING_DELETE";
    startUpdate(lb);
    return { status: 204 };
  });

  // --- members
  const getPool = (req: SimRequest) => get(req, "pools", req.params["pool_id"] as string, "Pool");
  r.get("/lbaas/pools/{pool_id}/members", (req) => {
    const pool = getPool(req);
    return ok(listBody(req, "members", Object.values(coll("members")).filter((m) => m["pool_id"] === pool.id).map(memberView), { alwaysLinks: true }));
  });
  r.post("/lbaas/pools/{pool_id}/members", (req) => {
    const pool = getPool(req);
    const b = body(req, "member", ["name", "address", "protocol_port", "subnet_id", "weight", "admin_state_up", "backup", "monitor_address", "monitor_port", "tags", "project_id"]);
    if (!parseIp(b["address"])) throw invalidValue("address", b["address"], b["address"] === undefined ? "Mandatory field missing." : "Value should be IP address format");
    const port = intField(b, "protocol_port", 1, 65535, true) as number;
    const weight = intField(b, "weight", 0, 256, false) ?? 1;
    if (b["subnet_id"] !== undefined && b["subnet_id"] !== null) {
      if (!isUuidLike(b["subnet_id"]) || !w().data.subnets[b["subnet_id"] as string]) throw vf(`Subnet ${String(b["subnet_id"])} not found.`);
    }
    const lb = lbOf(pool);
    mutable(lb);
    const dup = Object.values(coll("members")).find((m) => m["pool_id"] === pool.id && m["address"] === b["address"] && m["protocol_port"] === port);
    if (dup) throw octaviaError(409, `Another member on this pool is already using ip ${String(b["address"])} on protocol_port ${port}`);
    checkOctaviaQuota(w(), req.auth.projectId, "member");
    const m: Rec = {
      address: b["address"],
      admin_state_up: b["admin_state_up"] ?? true,
      backup: b["backup"] ?? false,
      created_at: now(),
      id: uuid(),
      monitor_address: b["monitor_address"] ?? null,
      monitor_port: b["monitor_port"] ?? null,
      name: strField(b, "name") ?? "",
      operating_status: "OFFLINE",
      pool_id: pool.id,
      project_id: req.auth.projectId,
      protocol_port: port,
      provisioning_status: "PENDING_CREATE",
      subnet_id: b["subnet_id"] ?? null,
      tags: Array.isArray(b["tags"]) ? b["tags"] : [],
      tenant_id: req.auth.projectId,
      updated_at: null,
      weight,
      loadbalancers: pool["loadbalancers"],
    };
    coll("members")[m.id] = m;
    (pool["members"] as { id: string }[]).push({ id: m.id });
    startUpdate(lb);
    return ok({ member: memberView(m) }, 201);
  });
  const getMember = (req: SimRequest): Rec => {
    const pool = getPool(req);
    const m = coll("members")[req.params["id"] as string];
    if (!m || m["pool_id"] !== pool.id) throw octaviaError(404, `Member ${req.params["id"]} not found.`);
    return m;
  };
  r.get("/lbaas/pools/{pool_id}/members/{id}", (req) => ok({ member: memberView(getMember(req)) }));
  r.put("/lbaas/pools/{pool_id}/members/{id}", (req) => {
    const m = getMember(req);
    const b = body(req, "member", ["name", "weight", "admin_state_up", "backup", "monitor_address", "monitor_port", "tags"]);
    const lb = lbOf(m);
    mutable(lb);
    Object.assign(m, b);
    m["provisioning_status"] = "PENDING_UPDATE";
    startUpdate(lb);
    return ok({ member: memberView(m) });
  });
  r.delete("/lbaas/pools/{pool_id}/members/{id}", (req) => {
    const m = getMember(req);
    const lb = lbOf(m);
    mutable(lb);
    m["provisioning_status"] = "PENDING_DELETE";
    startUpdate(lb);
    return { status: 204 };
  });

  // --- health monitors
  r.get("/lbaas/healthmonitors", (req) => {
    w().advance();
    return ok(listBody(req, "healthmonitors", Object.values(coll("healthmonitors")).filter((x) => x["project_id"] === req.auth.projectId).map(hmView), { alwaysLinks: true }));
  });
  r.post("/lbaas/healthmonitors", (req) => {
    const b = body(req, "healthmonitor", ["name", "pool_id", "type", "delay", "timeout", "max_retries", "max_retries_down", "http_method", "url_path", "expected_codes", "http_version", "domain_name", "admin_state_up", "tags", "project_id"]);
    const type = enumField(b, "type", HM_TYPES, true) as string;
    const delay = intField(b, "delay", 0, 2147483647, true);
    const timeout = intField(b, "timeout", 0, 2147483647, true);
    const maxRetries = intField(b, "max_retries", 1, 10, true);
    const maxRetriesDown = intField(b, "max_retries_down", 1, 10, false) ?? 3;
    if (!isUuidLike(b["pool_id"])) throw invalidValue("pool_id", b["pool_id"], "Value should be UUID format");
    const pool = get(req, "pools", b["pool_id"] as string, "Pool");
    const lb = lbOf(pool);
    mutable(lb);
    if (pool["healthmonitor_id"]) throw octaviaError(409, `This pool already has a health monitor`);
    checkOctaviaQuota(w(), req.auth.projectId, "healthmonitor");
    const http = type === "HTTP" || type === "HTTPS";
    const hm: Rec = {
      admin_state_up: b["admin_state_up"] ?? true,
      created_at: now(),
      delay,
      domain_name: b["domain_name"] ?? null,
      expected_codes: http ? (b["expected_codes"] ?? "200") : null,
      http_method: http ? (b["http_method"] ?? "GET") : null,
      http_version: http ? (b["http_version"] ?? 1.0) : null,
      id: uuid(),
      max_retries: maxRetries,
      max_retries_down: maxRetriesDown,
      name: strField(b, "name") ?? "",
      operating_status: "OFFLINE",
      pools: [{ id: pool.id }],
      project_id: req.auth.projectId,
      provisioning_status: "PENDING_CREATE",
      tags: Array.isArray(b["tags"]) ? b["tags"] : [],
      tenant_id: req.auth.projectId,
      timeout,
      type,
      updated_at: null,
      url_path: http ? (b["url_path"] ?? "/") : null,
      loadbalancers: pool["loadbalancers"],
    };
    coll("healthmonitors")[hm.id] = hm;
    pool["healthmonitor_id"] = hm.id;
    startUpdate(lb);
    return ok({ healthmonitor: hmView(hm) }, 201);
  });
  r.get("/lbaas/healthmonitors/{id}", (req) => ok({ healthmonitor: hmView(get(req, "healthmonitors", req.params["id"] as string, "Health Monitor")) }));
  r.delete("/lbaas/healthmonitors/{id}", (req) => {
    const hm = get(req, "healthmonitors", req.params["id"] as string, "Health Monitor");
    const lb = lbOf(hm);
    mutable(lb);
    hm["provisioning_status"] = "PENDING_DELETE";
    startUpdate(lb);
    return { status: 204 };
  });

  r.get("/lbaas/providers", () =>
    ok({ providers: [{ description: "Amphora driver.", name: "amphora" }, { description: "Default provider driver.", name: "octavia" }] }),
  );
  r.get("/lbaas/availabilityzones", () => ok({ availability_zones: [], availability_zones_links: [] }));
  r.get("/lbaas/flavors", () => ok({ flavors: [], flavors_links: [] }));
}
