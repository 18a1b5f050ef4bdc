import { destroyServer, setServerError } from "./compute.js";
import type { SimContext } from "./context.js";
import type { FaultConfig } from "./faults.js";
import type { SimResponse } from "./http.js";
import { ApiError, Router, asRecord } from "./http.js";
import { dataplaneView } from "./dataplane.js";
import { deleteLoadBalancerNow } from "./loadbalancer.js";
import { deleteFloatingIp } from "./network.js";
import { deletePortRecord } from "./network-core.js";
import type { RequestStats } from "./server.js";
import type { QuotaLimits } from "./config.js";
import type { Rec, World } from "./world.js";

/** The simulator's own API under /_sim (no auth): inventory, request counts, faults, out-of-band changes. */

const bad = (message: string, status = 400) => new ApiError(status, { error: { code: status, message } });

const INVENTORY: [string, keyof World["data"]][] = [
  ["networks", "networks"],
  ["subnets", "subnets"],
  ["ports", "ports"],
  ["routers", "routers"],
  ["security_groups", "securityGroups"],
  ["security_group_rules", "securityGroupRules"],
  ["floatingips", "floatingIps"],
  ["trunks", "trunks"],
  ["loadbalancers", "loadbalancers"],
  ["listeners", "listeners"],
  ["pools", "pools"],
  ["members", "members"],
  ["healthmonitors", "healthmonitors"],
  ["volumes", "volumes"],
];

/** Admin resource kinds for out-of-band deletion, by URL name. */
const DELETABLE: Record<string, keyof World["data"]> = {
  servers: "servers",
  ports: "ports",
  networks: "networks",
  subnets: "subnets",
  routers: "routers",
  "security-groups": "securityGroups",
  floatingips: "floatingIps",
  trunks: "trunks",
  loadbalancers: "loadbalancers",
  volumes: "volumes",
  "server-groups": "serverGroups",
};

export function adminRoutes(ctx: SimContext, stats: RequestStats): Router {
  const w = (): World => ctx.world;
  const r = new Router();
  const ok = (body: unknown, status = 200): SimResponse => ({ status, body });

  r.get("/health", () => ok({ ok: true }));

  r.get("/inventory", (req) => {
    w().advance();
    const only = req.query.get("project");
    const projects = Object.values(w().data.projects).filter((p) => !only || p.name === only || p.id === only);
    return ok({
      projects: projects.map((p) => {
        const defaultSgs = new Set(
          Object.values(w().data.securityGroups)
            .filter((sg) => sg["project_id"] === p.id && sg["name"] === "default")
            .map((sg) => sg.id),
        );
        const resources: Record<string, unknown[]> = {};
        for (const [name, coll] of INVENTORY) {
          resources[name] = Object.values(w().data[coll] as Record<string, Rec>)
            .filter((x) => x["project_id"] === p.id)
            // The default security group Neutron creates on first use is not something a client leaked.
            .filter((x) => !(name === "security_groups" && defaultSgs.has(x.id)))
            .filter((x) => !(name === "security_group_rules" && defaultSgs.has(x["security_group_id"] as string)))
            .filter((x) => !(name === "networks" && x["router:external"] === true))
            .map((x) => ({ id: x.id, name: x["name"] ?? null, status: x["status"] ?? x["provisioning_status"] ?? null }));
        }
        resources["servers"] = Object.values(w().data.servers)
          .filter((s) => s.projectId === p.id)
          .map((s) => ({ id: s.id, name: s.name, status: s.status, task_state: s.taskState }));
        resources["server_groups"] = Object.values(w().data.serverGroups)
          .filter((g) => g.projectId === p.id)
          .map((g) => ({ id: g.id, name: g.name, status: null }));
        const userIds = new Set(Object.values(w().data.users).filter((u) => u.projectIds.includes(p.id)).map((u) => u.id));
        resources["keypairs"] = Object.values(w().data.keypairs)
          .filter((k) => userIds.has(k.userId))
          .map((k) => ({ id: k.name, name: k.name, status: null }));
        resources["images"] = Object.values(w().data.images)
          .filter((i) => i["owner"] === p.id && p.id !== w().data.adminProjectId)
          .map((i) => ({ id: i.id, name: i["name"] ?? null, status: i["status"] ?? null }));
        const counts = Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, v.length]));
        return { id: p.id, name: p.name, counts, resources };
      }),
    });
  });

  // For the workload-cluster emulator: running servers, their user data, and where traffic to an address goes.
  r.get("/dataplane", () => {
    w().advance();
    return ok(dataplaneView(w()));
  });

  r.get("/requests", () => ok({ total: stats.total, counts: stats.list() }));
  r.delete("/requests", () => {
    stats.reset();
    return { status: 204 };
  });

  r.get("/faults", () => ok(ctx.faults.config));
  r.put("/faults", (req) => {
    try {
      ctx.faults.set((req.body ?? {}) as FaultConfig);
    } catch (e) {
      throw bad(e instanceof Error ? e.message : String(e));
    }
    return ok(ctx.faults.config);
  });
  r.delete("/faults", () => {
    ctx.faults.set({});
    return { status: 204 };
  });

  r.get("/timing", () => ok(w().timing));
  r.put("/timing", (req) => {
    const b = asRecord(req.body);
    if (!b) throw bad("body must be an object with buildDelayMs, deleteDelayMs, lbUpdateDelayMs, volumeDelayMs");
    for (const [k, v] of Object.entries(b)) {
      if (!(k in w().timing)) throw bad(`unknown timing key "${k}"`);
      if (typeof v !== "number" || v < 0) throw bad(`timing.${k} must be a number >= 0`);
      (w().timing as unknown as Record<string, number>)[k] = v;
    }
    return ok(w().timing);
  });

  r.put("/quotas/{project}", (req) => {
    const p = Object.values(w().data.projects).find((x) => x.id === req.params["project"] || x.name === req.params["project"]);
    if (!p) throw bad(`no project ${req.params["project"]}`, 404);
    const b = asRecord(req.body);
    if (!b) throw bad("body must be an object of quota limits");
    for (const [k, v] of Object.entries(b)) {
      if (!(k in p.quotas)) throw bad(`unknown quota "${k}"`);
      if (typeof v !== "number") throw bad(`quota ${k} must be a number`);
      (p.quotas as unknown as Record<string, number>)[k] = v;
    }
    return ok({ quotas: p.quotas as QuotaLimits });
  });

  r.post("/servers/{id}/error", (req) => {
    w().advance();
    const s = w().data.servers[req.params["id"] as string];
    if (!s) throw bad(`no server ${req.params["id"]}`, 404);
    const msg = asRecord(req.body)?.["message"];
    setServerError(w(), s, typeof msg === "string" ? msg : "Injected failure: the hypervisor reported the instance as broken.");
    return ok({ id: s.id, status: s.status });
  });

  // Octavia gives up on a load balancer (amphora failure): provisioning_status ERROR, refusing changes.
  r.post("/loadbalancers/{id}/error", (req) => {
    w().advance();
    const lb = w().data.loadbalancers[req.params["id"] as string];
    if (!lb) throw bad(`no load balancer ${req.params["id"]}`, 404);
    Object.assign(lb, { provisioning_status: "ERROR", operating_status: "ERROR" });
    return ok({ id: lb.id, provisioning_status: "ERROR" });
  });

  r.post("/floatingips/{id}/reclaim", (req) => {
    const f = w().data.floatingIps[req.params["id"] as string];
    if (!f) throw bad(`no floating IP ${req.params["id"]}`, 404);
    deleteFloatingIp(w(), f.id);
    return { status: 204 };
  });

  r.delete("/resources/{kind}/{id}", (req) => {
    w().advance();
    const kind = req.params["kind"] as string;
    const id = req.params["id"] as string;
    const coll = DELETABLE[kind];
    if (!coll) throw bad(`unknown kind "${kind}"; one of ${Object.keys(DELETABLE).join(", ")}`);
    const rec = (w().data[coll] as Record<string, unknown>)[id];
    if (!rec) throw bad(`no ${kind} ${id}`, 404);
    switch (kind) {
      case "servers":
        destroyServer(w(), w().data.servers[id] as NonNullable<World["data"]["servers"][string]>);
        break;
      case "ports":
        deletePortRecord(w(), id);
        break;
      case "floatingips":
        deleteFloatingIp(w(), id);
        break;
      case "loadbalancers":
        deleteLoadBalancerNow(w(), rec as Rec);
        break;
      case "networks": {
        for (const p of Object.values(w().data.ports)) if (p["network_id"] === id) deletePortRecord(w(), p.id);
        for (const s of Object.values(w().data.subnets)) if (s["network_id"] === id) delete w().data.subnets[s.id];
        delete w().data.networks[id];
        break;
      }
      default:
        delete (w().data[coll] as Record<string, unknown>)[id];
    }
    w().touch();
    return { status: 204 };
  });

  r.post("/tokens/expire", () => {
    const n = Object.keys(w().data.tokens).length;
    w().data.tokens = {};
    return ok({ expired: n });
  });
  return r;
}
