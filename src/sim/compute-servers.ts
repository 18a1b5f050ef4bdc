import { createHash, randomBytes } from "node:crypto";
import { createVolumeRecord } from "./blockstorage.js";
import type { ComputeApi } from "./compute-api.js";
import { ge, invalid } from "./compute-api.js";
import { attachVolume, placeServer } from "./compute-lifecycle.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest, SimResponse } from "./http.js";
import { ApiError, asRecord, nowIso } from "./http.js";
import type { FixedIp } from "./network-core.js";
import { ensureDefaultSecurityGroup } from "./network-core.js";
import { checkNovaServerQuota } from "./quotas.js";
import type { Rec, Server } from "./world.js";
import { isUuidLike, uuid } from "./world.js";

const SERVER_KEYS = new Set([
  "name",
  "imageRef",
  "flavorRef",
  "adminPass",
  "metadata",
  "networks",
  "key_name",
  "user_data",
  "availability_zone",
  "block_device_mapping",
  "block_device_mapping_v2",
  "security_groups",
  "config_drive",
  "min_count",
  "max_count",
  "return_reservation_id",
  "accessIPv4",
  "accessIPv6",
  "description",
  "tags",
  "trusted_image_certificates",
  "host",
  "hypervisor_hostname",
  "hostname",
  "OS-DCF:diskConfig",
]);

/** Servers: list, show, create, update, delete and actions. */
export function registerServers(r: Router, api: ComputeApi): void {
  const { w, base, ok, serverLinks, serverView, getServer, checkMeta, bindExistingPort, createServerPort, checkTag, ctx } = api;
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
  r.post("/servers", (req) => createServer(req));
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

  function createServer(req: SimRequest): SimResponse {
    const root = asRecord(req.body);
    const b = asRecord(root?.["server"]);
    if (!root || !b) throw invalid("server", req.body ?? null, "'server' is a required property");
    for (const k of Object.keys(root)) {
      if (!["server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"].includes(k)) {
        throw invalid("root", root, `Additional properties are not allowed ('${k}' was unexpected)`);
      }
    }
    for (const k of Object.keys(b)) {
      if (!SERVER_KEYS.has(k)) throw invalid("server", b, `Additional properties are not allowed ('${k}' was unexpected)`);
    }
    const name = b["name"];
    if (name === undefined) throw invalid("server", b, "'name' is a required property");
    if (typeof name !== "string") throw invalid("name", name, `${JSON.stringify(name)} is not of type 'string'`);
    if (name.length === 0) throw invalid("name", name, "'' is too short");
    if (name.length > 255) throw invalid("name", name, `'${name}' is too long`);
    if (name.trim() !== name) throw invalid("name", name, `'${name}' does not match '^(?! )[\\S ]+(?<! )$'`);
    if (b["flavorRef"] === undefined) throw invalid("server", b, "'flavorRef' is a required property");
    if (typeof b["flavorRef"] !== "string" && typeof b["flavorRef"] !== "number") {
      throw invalid("flavorRef", b["flavorRef"], `${JSON.stringify(b["flavorRef"])} is not valid under any of the given schemas`);
    }
    const userData = b["user_data"];
    if (userData !== undefined && userData !== null) {
      if (typeof userData !== "string" || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(userData) || userData.replace(/\s/g, "").length % 4 !== 0) {
        throw invalid("user_data", userData, `'${String(userData)}' is not a 'base64'`);
      }
      if (userData.length > 65535) throw invalid("user_data", `${userData.slice(0, 40)}...`, "is too long");
    }
    const metadata = b["metadata"] !== undefined ? checkMeta(req, b["metadata"], {}) : {};
    if (b["tags"] !== undefined && !Array.isArray(b["tags"])) throw invalid("tags", b["tags"], `${JSON.stringify(b["tags"])} is not of type 'array'`);
    const tags = ((b["tags"] as unknown[] | undefined) ?? []).map(checkTag);
    if (tags.length > 50) throw novaError(400, "The number of tags exceeded the per-server limit 50");
    let networks = b["networks"];
    if (networks === undefined && ge(req, 37)) throw invalid("server", b, "'networks' is a required property");
    if (networks !== undefined && typeof networks === "string" && !["none", "auto"].includes(networks)) {
      throw invalid("networks", networks, `'${networks}' is not one of ['none', 'auto']`);
    }
    if (networks !== undefined && typeof networks !== "string" && !Array.isArray(networks)) {
      throw invalid("networks", networks, `${JSON.stringify(networks)} is not valid under any of the given schemas`);
    }
    const flavorId = String(b["flavorRef"]).split("/").pop() as string;
    const flavor = w().data.flavors[flavorId];
    if (!flavor) throw novaError(400, `Flavor ${flavorId} could not be found.`);
    const bdms = Array.isArray(b["block_device_mapping_v2"]) ? (b["block_device_mapping_v2"] as unknown[]).map((x) => asRecord(x) ?? {}) : [];
    if (b["block_device_mapping_v2"] !== undefined && !Array.isArray(b["block_device_mapping_v2"])) {
      throw invalid("block_device_mapping_v2", b["block_device_mapping_v2"], "is not of type 'array'");
    }
    const bootVolume = bdms.find((d) => Number(d["boot_index"]) === 0 && d["destination_type"] === "volume");
    let imageId = typeof b["imageRef"] === "string" ? (b["imageRef"].split("/").pop() as string) : "";
    if (bootVolume && bootVolume["source_type"] === "image" && typeof bootVolume["uuid"] === "string") imageId = bootVolume["uuid"];
    if (!imageId && !bootVolume) throw novaError(400, "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.");
    if (imageId) {
      const img = w().data.images[imageId];
      const visible = img && (img["visibility"] === "public" || img["visibility"] === "community" || img["owner"] === req.auth.projectId || img["visibility"] === "shared");
      if (!img || !visible) throw novaError(400, `Image ${imageId} could not be found.`);
      if (img["status"] !== "active") throw novaError(400, `Image ${imageId} is not active.`);
      if (!bootVolume && Number(img["min_disk"] ?? 0) > flavor.disk && flavor.disk > 0) {
        throw novaError(400, "Flavor's disk is too small for requested image. Flavor disk is " + flavor.disk * 1024 ** 3 + " bytes, image is " + Number(img["size"]) + " bytes.");
      }
    }
    const az = typeof b["availability_zone"] === "string" && b["availability_zone"] ? b["availability_zone"] : (w().data.availabilityZones[0] ?? "nova");
    if (!w().data.availabilityZones.includes(az)) throw novaError(400, "The requested availability zone is not available");
    let keyName: string | null = null;
    if (b["key_name"] !== undefined && b["key_name"] !== null) {
      if (typeof b["key_name"] !== "string" || !w().data.keypairs[`${req.auth.userId}/${b["key_name"]}`]) throw novaError(400, "Invalid key_name provided.");
      keyName = b["key_name"];
    }
    let sgNames: string[] = ["default"];
    let sgIds: string[] | undefined;
    if (b["security_groups"] !== undefined) {
      if (!Array.isArray(b["security_groups"])) throw invalid("security_groups", b["security_groups"], "is not of type 'array'");
      sgNames = [];
      sgIds = [];
      ensureDefaultSecurityGroup(w(), req.auth.projectId);
      for (const g of b["security_groups"] as unknown[]) {
        const n = asRecord(g)?.["name"];
        if (typeof n !== "string") throw invalid("security_groups", g, "'name' is a required property");
        const sg = Object.values(w().data.securityGroups).find((x) => x["project_id"] === req.auth.projectId && (x["name"] === n || x.id === n));
        if (!sg) throw novaError(400, `Security group ${n} not found for project ${req.auth.projectId}.`);
        sgNames.push(n);
        sgIds.push(sg.id);
      }
    }
    const hints = asRecord(root["os:scheduler_hints"]) ?? asRecord(root["OS-SCH-HNT:scheduler_hints"]);
    const groupIds: string[] = [];
    if (hints?.["group"] !== undefined) {
      const gid = hints["group"];
      const g = typeof gid === "string" ? w().data.serverGroups[gid] : undefined;
      if (!g || g.projectId !== req.auth.projectId) throw invalid("group", gid, `'${String(gid)}' is not a 'uuid'`);
      const lim = w().quotas(req.auth.projectId).server_group_members;
      if (lim >= 0 && g.members.length + 1 > lim) throw novaError(403, `Quota exceeded, too many servers in group`);
      groupIds.push(g.id);
    }
    // Validate explicit network entries before anything is created.
    const entries: Record<string, unknown>[] = [];
    if (Array.isArray(networks)) {
      for (const n of networks as unknown[]) {
        const e = asRecord(n);
        if (!e) throw invalid("networks", n, `${JSON.stringify(n)} is not of type 'object'`);
        if (e["uuid"] !== undefined && !isUuidLike(e["uuid"])) throw invalid("uuid", e["uuid"], `'${String(e["uuid"])}' is not a 'uuid'`);
        if (e["port"] !== undefined && e["port"] !== null && !isUuidLike(e["port"])) throw invalid("port", e["port"], `'${String(e["port"])}' is not a 'uuid'`);
        if (e["port"]) {
          const p = w().data.ports[e["port"] as string];
          if (!p || p["project_id"] !== req.auth.projectId) throw novaError(400, `Port id ${String(e["port"])} could not be found.`);
          if (p["device_id"]) throw novaError(409, `Port ${String(e["port"])} is still in use.`);
        } else if (e["uuid"]) {
          const net = w().data.networks[e["uuid"] as string];
          if (!net || !(net["project_id"] === req.auth.projectId || net["shared"] === true)) throw novaError(400, `Network ${String(e["uuid"])} could not be found.`);
        } else {
          throw novaError(400, "Bad networks format: network uuid is not in proper format ()");
        }
        entries.push(e);
      }
    } else if (networks === undefined || networks === "auto") {
      const candidates = Object.values(w().data.networks).filter(
        (n) => n["router:external"] !== true && (n["project_id"] === req.auth.projectId || n["shared"] === true),
      );
      if (candidates.length > 1) throw novaError(409, "Multiple possible networks found, use a Network ID to be more specific.");
      if (candidates.length === 1) entries.push({ uuid: (candidates[0] as Rec).id });
      else if (networks === "auto") throw novaError(400, `Unable to automatically allocate a network for project ${req.auth.projectId}`);
      networks = entries.length ? entries : "none";
    }
    for (const d of bdms) {
      if (d["source_type"] === "volume") {
        const v = w().data.volumes[String(d["uuid"])];
        if (!v || v["project_id"] !== req.auth.projectId) throw novaError(400, `Block Device Mapping is Invalid: failed to get volume ${String(d["uuid"])}.`);
        if (v["status"] !== "available") throw novaError(400, `Invalid volume: volume ${v.id} status must be available`);
      }
    }
    checkNovaServerQuota(w(), req.auth.projectId, { instances: 1, cores: flavor.vcpus, ram: flavor.ram });

    const ts = nowIso();
    const s: Server = {
      id: uuid(),
      name,
      projectId: req.auth.projectId,
      userId: req.auth.userId,
      flavor: { ...flavor },
      imageId: bootVolume ? "" : imageId,
      keyName,
      metadata,
      tags,
      az,
      status: "BUILD",
      vmState: "building",
      taskState: "scheduling",
      powerState: 0,
      created: ts,
      updated: ts,
      launchedAt: null,
      portIds: [],
      novaPortIds: [],
      securityGroupNames: sgNames,
      serverGroupIds: groupIds,
      volumes: [],
      description: typeof b["description"] === "string" ? b["description"] : null,
      hostId: "",
      host: 0,
      adminPass: typeof b["adminPass"] === "string" ? b["adminPass"] : randomBytes(9).toString("base64url").slice(0, 12),
      userData: typeof userData === "string" ? userData : null,
      configDrive: b["config_drive"] === true ? "True" : "",
      accessIPv4: typeof b["accessIPv4"] === "string" ? b["accessIPv4"] : "",
      accessIPv6: typeof b["accessIPv6"] === "string" ? b["accessIPv6"] : "",
      locked: false,
    };
    const placement = placeServer(w(), s, groupIds);
    if (placement === undefined) s.failBuild = "No valid host was found. There are not enough hosts available.";
    s.host = placement ?? 0;
    s.hostId = createHash("sha224").update(`${req.auth.projectId}${az}-host-${s.host}`).digest("hex");
    w().data.servers[s.id] = s;
    for (const gid of groupIds) w().data.serverGroups[gid]?.members.push(s.id);
    // Port and volume failures happen during the build on a real cloud: the server goes to ERROR.
    try {
      for (const e of entries) {
        if (e["port"]) bindExistingPort(req, s, e["port"] as string);
        else createServerPort(req, s, e["uuid"] as string, e["fixed_ip"], sgIds);
      }
      for (const d of bdms) {
        if (d["destination_type"] !== "volume") continue;
        if (d["source_type"] === "volume") {
          const v = w().data.volumes[String(d["uuid"])] as Rec;
          attachVolume(v, s, d["delete_on_termination"] === true);
        } else {
          const size = Number(d["volume_size"] ?? Math.ceil(Number(w().data.images[imageId]?.["size"] ?? 1) / 1024 ** 3));
          const v = createVolumeRecord(w(), req.auth.projectId, {
            size: size > 0 ? size : 1,
            name: "",
            imageId: d["source_type"] === "image" ? String(d["uuid"]) : undefined,
            az,
            status: "in-use",
            bootable: d["source_type"] === "image",
            userId: req.auth.userId,
          });
          attachVolume(v, s, d["delete_on_termination"] === true);
        }
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const msg = JSON.stringify(e.body);
      s.failBuild = `Build of instance ${s.id} aborted: ${msg}`;
    }
    if (!s.failBuild && ctx.faults.takeServerBuildFailure()) {
      s.failBuild = "No valid host was found. There are not enough hosts available.";
    }
    w().schedule("server-build", s.id, w().timing.buildDelayMs);
    return {
      status: 202,
      headers: { location: `${base()}/servers/${s.id}` },
      body: {
        server: {
          "OS-DCF:diskConfig": "MANUAL",
          adminPass: s.adminPass,
          id: s.id,
          links: serverLinks(s.id),
          security_groups: sgNames.map((n) => ({ name: n })),
        },
      },
    };
  }
}
