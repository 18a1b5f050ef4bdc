import type { ComputeApi } from "./compute-api.js";
import { invalid } from "./compute-api.js";
import { serverCreator } from "./compute-server-create.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord, nowIso } from "./http.js";
import type { FixedIp } from "./network-core.js";
import type { Server } from "./world.js";

/** Servers: list, show, create, update, delete and actions. */
export function registerServers(r: Router, api: ComputeApi): void {
  const { w, base, ok, serverLinks, serverView, getServer } = api;
  // --- servers
  const listServers = (req: SimRequest): Server[] => {
    w().advance();
    const q = req.query;
    let list = Object.values(w().data.servers).filter((s) => s.projectId === req.auth.projectId);
    const name = q.get("name");
    if (name) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(name);
      } catch {
        re = undefined;
      }
      list = list.filter((s) => (re ? re.test(s.name) : s.name.includes(name)));
    }
    const status = q.get("status");
    if (status) list = list.filter((s) => s.status === status.toUpperCase());
    const csv = (k: string) => (q.get(k) ?? "").split(",").filter(Boolean);
    const tags = csv("tags");
    const tagsAny = csv("tags-any");
    const notTags = csv("not-tags");
    const notTagsAny = csv("not-tags-any");
    if (tags.length) list = list.filter((s) => tags.every((t) => s.tags.includes(t)));
    if (tagsAny.length) list = list.filter((s) => tagsAny.some((t) => s.tags.includes(t)));
    if (notTags.length) list = list.filter((s) => !notTags.every((t) => s.tags.includes(t)));
    if (notTagsAny.length) list = list.filter((s) => !notTagsAny.some((t) => s.tags.includes(t)));
    const flavor = q.get("flavor");
    if (flavor) list = list.filter((s) => s.flavor.id === flavor);
    const image = q.get("image");
    if (image) list = list.filter((s) => s.imageId === image);
    const az = q.get("availability_zone");
    if (az) list = list.filter((s) => s.az === az);
    const ip = q.get("ip");
    if (ip) {
      list = list.filter((s) =>
        s.portIds.some((pid) => ((w().data.ports[pid]?.["fixed_ips"] as FixedIp[] | undefined) ?? []).some((f) => f.ip_address.includes(ip))),
      );
    }
    const since = q.get("changes-since");
    if (since && !Number.isNaN(Date.parse(since))) list = list.filter((s) => Date.parse(s.updated) >= Date.parse(since));
    list.sort((a, b) => (a.created === b.created ? (a.id < b.id ? 1 : -1) : a.created < b.created ? 1 : -1));
    return list;
  };
  const paginate = (req: SimRequest, list: Server[], path: string) => {
    const marker = req.query.get("marker");
    if (marker) {
      const i = list.findIndex((s) => s.id === marker);
      if (i < 0) throw novaError(400, `marker [${marker}] not found`);
      list = list.slice(i + 1);
    }
    const limitRaw = req.query.get("limit");
    if (limitRaw !== null && !/^\d+$/.test(limitRaw)) throw invalid("limit", limitRaw, `'${limitRaw}' is not a 'positive_integer_with_zero'`);
    const limit = limitRaw !== null ? Number(limitRaw) : 1000;
    const page = list.slice(0, limit);
    const links = page.length === limit && list.length > limit && page.length > 0
      ? [{ href: `${base()}${path}?limit=${limit}&marker=${(page[page.length - 1] as Server).id}`, rel: "next" }]
      : undefined;
    return { page, links };
  };
  r.get("/servers", (req) => {
    const { page, links } = paginate(req, listServers(req), "/servers");
    return ok({ servers: page.map((s) => ({ id: s.id, links: serverLinks(s.id), name: s.name })), ...(links ? { servers_links: links } : {}) });
  });
  r.get("/servers/detail", (req) => {
    const { page, links } = paginate(req, listServers(req), "/servers/detail");
    return ok({ servers: page.map((s) => serverView(req, s, false)), ...(links ? { servers_links: links } : {}) });
  });
  r.get("/servers/{id}", (req) => ok({ server: serverView(req, getServer(req, req.params["id"] as string), true) }));
  r.post("/servers", serverCreator(api));
  r.put("/servers/{id}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const b = asRecord(asRecord(req.body)?.["server"]);
    if (!b) throw invalid("server", req.body, "'server' is a required property");
    for (const k of Object.keys(b)) {
      if (!["name", "description", "accessIPv4", "accessIPv6", "hostname", "OS-DCF:diskConfig"].includes(k)) {
        throw invalid("server", b, `Additional properties are not allowed ('${k}' was unexpected)`);
      }
    }
    if (b["name"] !== undefined) {
      if (typeof b["name"] !== "string" || !b["name"].trim()) throw invalid("name", b["name"], `${JSON.stringify(b["name"])} is not of type 'string'`);
      s.name = b["name"];
    }
    if (b["description"] !== undefined) s.description = b["description"] as string | null;
    s.updated = nowIso();
    return ok({ server: serverView(req, s, true) });
  });
  r.delete("/servers/{id}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    if (s.locked) throw novaError(409, `Instance ${s.id} is locked`);
    // With reclaim_instance_interval, Nova soft-deletes a server that has run and reclaims it later; one that
    // never launched is deleted at once.
    const reclaimS = w().reclaimInstanceIntervalSeconds;
    if (reclaimS > 0 && s.launchedAt && s.status !== "SOFT_DELETED") {
      Object.assign(s, { status: "SOFT_DELETED", vmState: "soft-delete", taskState: null, powerState: 4, updated: nowIso() });
      w().schedule("server-delete", s.id, reclaimS * 1000);
      return { status: 204 };
    }
    if (s.status === "SOFT_DELETED") return { status: 204 };
    if (s.taskState !== "deleting") {
      s.taskState = "deleting";
      s.updated = nowIso();
      w().schedule("server-delete", s.id, w().timing.deleteDelayMs);
    }
    return { status: 204 };
  });
  r.post("/servers/{id}/action", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const b = asRecord(req.body);
    const action = b ? Object.keys(b)[0] : undefined;
    const conflict = (a: string) => novaError(409, `Cannot '${a}' instance ${s.id} while it is in vm_state ${s.vmState}`);
    switch (action) {
      case "os-stop":
        if (s.vmState !== "active") throw conflict("stop");
        Object.assign(s, { status: "SHUTOFF", vmState: "stopped", powerState: 4, updated: nowIso() });
        return { status: 202 };
      case "os-start":
        if (s.vmState !== "stopped") throw conflict("start");
        Object.assign(s, { status: "ACTIVE", vmState: "active", powerState: 1, updated: nowIso() });
        return { status: 202 };
      case "reboot":
        if (s.vmState !== "active" && s.vmState !== "stopped") throw conflict("reboot");
        Object.assign(s, { status: "ACTIVE", vmState: "active", powerState: 1, updated: nowIso() });
        return { status: 202 };
      case "lock":
        s.locked = true;
        return { status: 202 };
      case "unlock":
        s.locked = false;
        return { status: 202 };
      default:
        throw novaError(400, `There is no such action: ${action ?? "None"}`);
    }
  });
}
