import type { SimContext } from "./context.js";
import { octaviaError } from "./errors.js";
import { ApiError, Router, nowNaive } from "./http.js";
import { parseIp } from "./ipam.js";
import type { FixedIp } from "./network-core.js";
import { createPortRecord, deletePortRecord, networkSubnets } from "./network-core.js";
import { listBody } from "./query.js";
import { checkOctaviaQuota } from "./quotas.js";
import { registerLoadBalancerChildren } from "./loadbalancer-children.js";
import type { Coll } from "./loadbalancer-api.js";
import { body, invalidValue, lbApi, strField, vf } from "./loadbalancer-api.js";
import type { Rec, World } from "./world.js";
import { isUuidLike, uuid } from "./world.js";

/** Octavia v2 under /load-balancer/v2: load balancers here, their children in loadbalancer-children.ts. */

export function loadBalancerRoutes(ctx: SimContext): Router {
  const r = new Router();
  const api = lbApi(ctx);
  const { w, ok, coll, now, getLb, mutable, startUpdate, base } = api;
  // --- load balancers
  r.get("/lbaas/loadbalancers", (req) => {
    w().advance();
    return ok(listBody(req, "loadbalancers", Object.values(coll("loadbalancers")).filter((x) => x["project_id"] === req.auth.projectId), { alwaysLinks: true }));
  });
  r.post("/lbaas/loadbalancers", (req) => {
    const b = body(req, "loadbalancer", ["name", "description", "vip_subnet_id", "vip_network_id", "vip_port_id", "vip_address", "vip_qos_policy_id", "admin_state_up", "provider", "flavor_id", "availability_zone", "tags", "project_id", "listeners", "pools", "additional_vips"]);
    const name = strField(b, "name") ?? "";
    const description = strField(b, "description") ?? "";
    for (const k of ["vip_subnet_id", "vip_network_id", "vip_port_id"]) {
      if (b[k] !== undefined && !isUuidLike(b[k])) throw invalidValue(k, b[k], "Value should be UUID format");
    }
    if (!b["vip_subnet_id"] && !b["vip_network_id"] && !b["vip_port_id"]) {
      throw vf("VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.");
    }
    if (b["provider"] !== undefined && !["amphora", "octavia", "ovn"].includes(String(b["provider"]))) {
      throw vf(`Provider '${String(b["provider"])}' is not enabled.`);
    }
    if (b["availability_zone"] !== undefined && b["availability_zone"] !== null && !w().data.availabilityZones.includes(String(b["availability_zone"]))) {
      throw vf(`Could not find Availability Zone ${String(b["availability_zone"])}.`);
    }
    checkOctaviaQuota(w(), req.auth.projectId, "loadbalancer");
    const id = uuid();
    let port: Rec;
    let subnetId: string;
    if (b["vip_port_id"]) {
      const p = w().data.ports[b["vip_port_id"] as string];
      if (!p || p["project_id"] !== req.auth.projectId) throw vf(`Port ${String(b["vip_port_id"])} not found.`);
      port = p;
      subnetId = (p["fixed_ips"] as FixedIp[])[0]?.subnet_id ?? "";
    } else {
      let subnet: Rec | undefined;
      if (b["vip_subnet_id"]) {
        subnet = w().data.subnets[b["vip_subnet_id"] as string];
        const net = subnet ? w().data.networks[subnet["network_id"] as string] : undefined;
        const visible = subnet && (subnet["project_id"] === req.auth.projectId || net?.["shared"] === true);
        if (!subnet || !visible) throw vf(`Subnet ${String(b["vip_subnet_id"])} not found.`);
      } else {
        const net = w().data.networks[b["vip_network_id"] as string];
        if (!net || !(net["project_id"] === req.auth.projectId || net["shared"] === true)) {
          throw vf(`Network ${String(b["vip_network_id"])} not found.`);
        }
        subnet = networkSubnets(w(), net.id).find((s) => s["ip_version"] === 4);
        if (!subnet) throw vf(`Supplied network does not contain a subnet.`);
      }
      if (b["vip_address"] !== undefined && !parseIp(b["vip_address"])) throw invalidValue("vip_address", b["vip_address"], "Value should be IP address format");
      const network = w().data.networks[subnet["network_id"] as string] as Rec;
      try {
        port = createPortRecord(w(), req.auth.projectId, {
          network,
          name: `octavia-lb-${id}`,
          fixedIps: [{ subnet_id: subnet.id, ...(b["vip_address"] ? { ip_address: b["vip_address"] } : {}) }],
          deviceOwner: "Octavia",
          deviceId: `lb-${id}`,
          skipQuota: true,
          securityGroups: [],
        });
      } catch (e) {
        if (e instanceof ApiError) throw octaviaError(e.status === 409 ? 409 : 400, `Validation failure: ${JSON.stringify(e.body)}`);
        throw e;
      }
      subnetId = subnet.id;
    }
    const lb: Rec = {
      additional_vips: [],
      admin_state_up: b["admin_state_up"] ?? true,
      availability_zone: b["availability_zone"] ?? null,
      ...base(req.auth.projectId),
      description,
      flavor_id: null,
      id,
      listeners: [],
      name,
      pools: [],
      provider: (b["provider"] as string | undefined) === "ovn" ? "ovn" : "amphora",
      vip_address: (port["fixed_ips"] as FixedIp[])[0]?.ip_address ?? null,
      vip_network_id: port["network_id"],
      vip_port_id: port.id,
      vip_qos_policy_id: null,
      vip_subnet_id: subnetId,
    };
    if (Array.isArray(b["tags"])) lb["tags"] = b["tags"];
    coll("loadbalancers")[id] = lb;
    w().schedule("lb-active", id, w().timing.buildDelayMs);
    return ok({ loadbalancer: lb }, 201);
  });
  r.get("/lbaas/loadbalancers/{id}", (req) => ok({ loadbalancer: getLb(req, req.params["id"] as string) }));
  r.put("/lbaas/loadbalancers/{id}", (req) => {
    const lb = getLb(req, req.params["id"] as string);
    const b = body(req, "loadbalancer", ["name", "description", "admin_state_up", "tags", "vip_qos_policy_id"]);
    strField(b, "name");
    strField(b, "description");
    mutable(lb);
    Object.assign(lb, b);
    startUpdate(lb);
    return ok({ loadbalancer: lb });
  });
  r.delete("/lbaas/loadbalancers/{id}", (req) => {
    const lb = getLb(req, req.params["id"] as string);
    mutable(lb);
    const cascade = (req.query.get("cascade") ?? "").toLowerCase() === "true";
    const hasChildren = (lb["listeners"] as unknown[]).length > 0 || (lb["pools"] as unknown[]).length > 0;
    if (hasChildren && !cascade) throw vf(`Cannot delete Load Balancer ${lb.id} - it has children`);
    lb["provisioning_status"] = "PENDING_DELETE";
    lb["updated_at"] = now();
    for (const c of ["listeners", "pools", "members", "healthmonitors"] as Coll[]) {
      for (const x of Object.values(coll(c))) {
        if (childOf(w(), x, lb.id)) x["provisioning_status"] = "PENDING_DELETE";
      }
    }
    w().schedule("lb-delete", lb.id, w().timing.deleteDelayMs);
    return { status: 204 };
  });
  r.get("/lbaas/loadbalancers/{id}/status", (req) => {
    const lb = getLb(req, req.params["id"] as string);
    const listeners = (lb["listeners"] as { id: string }[]).map(({ id }) => {
      const l = coll("listeners")[id] as Rec;
      return { id, name: l["name"], operating_status: l["operating_status"], provisioning_status: l["provisioning_status"], pools: [] };
    });
    return ok({ statuses: { loadbalancer: { id: lb.id, listeners, name: lb["name"], operating_status: lb["operating_status"], provisioning_status: lb["provisioning_status"] } } });
  });
  registerLoadBalancerChildren(r, api);
  return r;
}

export function childOf(w: World, x: Rec, lbId: string): boolean {
  const lbs = x["loadbalancers"] as { id: string }[] | undefined;
  if (lbs) return lbs.some((l) => l.id === lbId);
  return false;
}

export function registerLoadBalancerTransitions(world: World): void {
  const settleChildren = (w: World, lbId: string, deleteAll: boolean) => {
    for (const c of ["members", "healthmonitors", "pools", "listeners"] as Coll[]) {
      for (const x of Object.values(w.data[c])) {
        if (!childOf(w, x, lbId)) continue;
        if (deleteAll || x["provisioning_status"] === "PENDING_DELETE") {
          removeChild(w, c, x);
        } else if (String(x["provisioning_status"]).startsWith("PENDING_")) {
          x["provisioning_status"] = "ACTIVE";
          x["operating_status"] = "ONLINE";
          x["updated_at"] = nowNaive();
        }
      }
    }
  };
  world.onTransition("lb-active", (w, id) => {
    const lb = w.data.loadbalancers[id];
    if (lb && lb["provisioning_status"] === "PENDING_CREATE") {
      lb["provisioning_status"] = "ACTIVE";
      lb["operating_status"] = "ONLINE";
      lb["updated_at"] = nowNaive();
    }
  });
  world.onTransition("lb-settle", (w, id) => {
    const lb = w.data.loadbalancers[id];
    if (!lb || lb["provisioning_status"] !== "PENDING_UPDATE") return;
    // Several changes may be scheduled; the load balancer settles when the last one is due.
    if (w.data.transitions.some((t) => t.kind === "lb-settle" && t.id === id)) return;
    settleChildren(w, id, false);
    lb["provisioning_status"] = "ACTIVE";
    lb["updated_at"] = nowNaive();
  });
  world.onTransition("lb-delete", (w, id) => {
    const lb = w.data.loadbalancers[id];
    if (!lb) return;
    settleChildren(w, id, true);
    deleteLoadBalancerNow(w, lb);
  });
}

function removeChild(w: World, c: Coll, x: Rec): void {
  delete w.data[c][x.id];
  const lbId = (x["loadbalancers"] as { id: string }[] | undefined)?.[0]?.id;
  const lb = lbId ? w.data.loadbalancers[lbId] : undefined;
  if (c === "listeners" && lb) {
    lb["listeners"] = (lb["listeners"] as { id: string }[]).filter((l) => l.id !== x.id);
    for (const p of Object.values(w.data.pools)) p["listeners"] = (p["listeners"] as { id: string }[]).filter((l) => l.id !== x.id);
  }
  if (c === "pools") {
    if (lb) lb["pools"] = (lb["pools"] as { id: string }[]).filter((l) => l.id !== x.id);
    for (const l of Object.values(w.data.listeners)) if (l["default_pool_id"] === x.id) l["default_pool_id"] = null;
    for (const m of Object.values(w.data.members)) if (m["pool_id"] === x.id) delete w.data.members[m.id];
    for (const h of Object.values(w.data.healthmonitors)) {
      if ((h["pools"] as { id: string }[]).some((p) => p.id === x.id)) delete w.data.healthmonitors[h.id];
    }
  }
  if (c === "members") {
    const pool = w.data.pools[x["pool_id"] as string];
    if (pool) pool["members"] = (pool["members"] as { id: string }[]).filter((m) => m.id !== x.id);
  }
  if (c === "healthmonitors") {
    for (const p of Object.values(w.data.pools)) if (p["healthmonitor_id"] === x.id) p["healthmonitor_id"] = null;
  }
}

/** Deletes a load balancer, its children and its VIP port at once (cascade completion or out-of-band). */
export function deleteLoadBalancerNow(w: World, lb: Rec): void {
  for (const c of ["members", "healthmonitors", "pools", "listeners"] as Coll[]) {
    for (const x of Object.values(w.data[c])) if (childOf(w, x, lb.id)) delete w.data[c][x.id];
  }
  const port = w.data.ports[lb["vip_port_id"] as string];
  if (port && port["device_owner"] === "Octavia") deletePortRecord(w, port.id);
  delete w.data.loadbalancers[lb.id];
  w.touch();
}
