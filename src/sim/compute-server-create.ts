import { createHash, randomBytes } from "node:crypto";
import { createVolumeRecord } from "./blockstorage.js";
import type { ComputeApi } from "./compute-api.js";
import { ge, invalid } from "./compute-api.js";
import { attachVolume, placeServer } from "./compute-lifecycle.js";
import { novaError } from "./errors.js";
import type { SimRequest, SimResponse } from "./http.js";
import { ApiError, asRecord, nowIso } from "./http.js";
import { ensureDefaultSecurityGroup } from "./network-core.js";
import { checkNovaServerQuota } from "./quotas.js";
import type { Rec, Server, World } from "./world.js";

/** A JSON object of the request body. */
type Body = Record<string, unknown>;
import { isUuidLike, uuid } from "./world.js";

// POST /servers. Nova validates the whole request (schema, then flavor, image, zone, key, groups, networks, volumes,
// quota) before it creates anything, and in that order: the first failing check decides the error a client sees, so
// the steps below keep Nova's order. Port and volume failures come later, during the build, as an ERROR server.

const ROOT_KEYS = new Set(["server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"]);

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

const NO_VALID_HOST = "No valid host was found. There are not enough hosts available.";

/** The request body's envelope: `server` plus the scheduler hints, nothing else. */
function parseEnvelope(body: unknown): { root: Body; b: Body } {
  const root = asRecord(body);
  const b = asRecord(root?.["server"]);
  if (!root || !b) throw invalid("server", body ?? null, "'server' is a required property");
  for (const k of Object.keys(root)) {
    if (!ROOT_KEYS.has(k)) throw invalid("root", root, `Additional properties are not allowed ('${k}' was unexpected)`);
  }
  for (const k of Object.keys(b)) {
    if (!SERVER_KEYS.has(k)) throw invalid("server", b, `Additional properties are not allowed ('${k}' was unexpected)`);
  }
  return { root, b };
}

function checkName(b: Body): string {
  const name = b["name"];
  if (name === undefined) throw invalid("server", b, "'name' is a required property");
  if (typeof name !== "string") throw invalid("name", name, `${JSON.stringify(name)} is not of type 'string'`);
  if (name.length === 0) throw invalid("name", name, "'' is too short");
  if (name.length > 255) throw invalid("name", name, `'${name}' is too long`);
  if (name.trim() !== name) throw invalid("name", name, `'${name}' does not match '^(?! )[\\S ]+(?<! )$'`);
  return name;
}

function checkFlavorRef(b: Body): void {
  if (b["flavorRef"] === undefined) throw invalid("server", b, "'flavorRef' is a required property");
  if (typeof b["flavorRef"] !== "string" && typeof b["flavorRef"] !== "number") {
    throw invalid("flavorRef", b["flavorRef"], `${JSON.stringify(b["flavorRef"])} is not valid under any of the given schemas`);
  }
}

function checkUserData(userData: unknown): void {
  if (userData === undefined || userData === null) return;
  if (typeof userData !== "string" || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(userData) || userData.replace(/\s/g, "").length % 4 !== 0) {
    throw invalid("user_data", userData, `'${String(userData)}' is not a 'base64'`);
  }
  if (userData.length > 65535) throw invalid("user_data", `${userData.slice(0, 40)}...`, "is too long");
}

function checkTags(b: Body, checkTag: ComputeApi["checkTag"]): string[] {
  if (b["tags"] !== undefined && !Array.isArray(b["tags"])) throw invalid("tags", b["tags"], `${JSON.stringify(b["tags"])} is not of type 'array'`);
  const tags = ((b["tags"] as unknown[] | undefined) ?? []).map(checkTag);
  if (tags.length > 50) throw novaError(400, "The number of tags exceeded the per-server limit 50");
  return tags;
}

function checkNetworksShape(req: SimRequest, b: Body): void {
  const networks = b["networks"];
  if (networks === undefined && ge(req, 37)) throw invalid("server", b, "'networks' is a required property");
  if (networks !== undefined && typeof networks === "string" && !["none", "auto"].includes(networks)) {
    throw invalid("networks", networks, `'${networks}' is not one of ['none', 'auto']`);
  }
  if (networks !== undefined && typeof networks !== "string" && !Array.isArray(networks)) {
    throw invalid("networks", networks, `${JSON.stringify(networks)} is not valid under any of the given schemas`);
  }
}

interface BootSource {
  imageId: string;
  bootVolume: Body | undefined;
  bdms: Body[];
}

/** The image or boot volume the server starts from, and its block device mappings. */
function resolveBootSource(w: World, req: SimRequest, b: Body, flavorDisk: number): BootSource {
  const raw = b["block_device_mapping_v2"];
  if (raw !== undefined && !Array.isArray(raw)) throw invalid("block_device_mapping_v2", raw, "is not of type 'array'");
  const bdms = Array.isArray(raw) ? (raw as unknown[]).map((x) => asRecord(x) ?? {}) : [];
  const bootVolume = bdms.find((d) => Number(d["boot_index"]) === 0 && d["destination_type"] === "volume");
  let imageId = typeof b["imageRef"] === "string" ? (b["imageRef"].split("/").pop() as string) : "";
  if (bootVolume && bootVolume["source_type"] === "image" && typeof bootVolume["uuid"] === "string") imageId = bootVolume["uuid"];
  if (!imageId && !bootVolume) throw novaError(400, "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.");
  if (imageId) checkImage(w, req, imageId, bootVolume ? undefined : flavorDisk);
  return { imageId, bootVolume, bdms };
}

function checkImage(w: World, req: SimRequest, imageId: string, flavorDisk: number | undefined): void {
  const img = w.data.images[imageId];
  const visible = img && (img["visibility"] === "public" || img["visibility"] === "community" || img["owner"] === req.auth.projectId || img["visibility"] === "shared");
  if (!img || !visible) throw novaError(400, `Image ${imageId} could not be found.`);
  if (img["status"] !== "active") throw novaError(400, `Image ${imageId} is not active.`);
  if (flavorDisk !== undefined && Number(img["min_disk"] ?? 0) > flavorDisk && flavorDisk > 0) {
    throw novaError(400, "Flavor's disk is too small for requested image. Flavor disk is " + flavorDisk * 1024 ** 3 + " bytes, image is " + Number(img["size"]) + " bytes.");
  }
}

function resolveZone(w: World, b: Body): string {
  const az = typeof b["availability_zone"] === "string" && b["availability_zone"] ? b["availability_zone"] : (w.data.availabilityZones[0] ?? "nova");
  if (!w.data.availabilityZones.includes(az)) throw novaError(400, "The requested availability zone is not available");
  return az;
}

function resolveKeyName(w: World, req: SimRequest, b: Body): string | null {
  if (b["key_name"] === undefined || b["key_name"] === null) return null;
  if (typeof b["key_name"] !== "string" || !w.data.keypairs[`${req.auth.userId}/${b["key_name"]}`]) throw novaError(400, "Invalid key_name provided.");
  return b["key_name"];
}

/** Security groups by name or id; without any, Nova uses the project's "default" and leaves the ports' own. */
function resolveSecurityGroups(w: World, req: SimRequest, b: Body): { names: string[]; ids: string[] | undefined } {
  if (b["security_groups"] === undefined) return { names: ["default"], ids: undefined };
  if (!Array.isArray(b["security_groups"])) throw invalid("security_groups", b["security_groups"], "is not of type 'array'");
  const names: string[] = [];
  const ids: string[] = [];
  ensureDefaultSecurityGroup(w, req.auth.projectId);
  for (const g of b["security_groups"] as unknown[]) {
    const n = asRecord(g)?.["name"];
    if (typeof n !== "string") throw invalid("security_groups", g, "'name' is a required property");
    const sg = Object.values(w.data.securityGroups).find((x) => x["project_id"] === req.auth.projectId && (x["name"] === n || x.id === n));
    if (!sg) throw novaError(400, `Security group ${n} not found for project ${req.auth.projectId}.`);
    names.push(n);
    ids.push(sg.id);
  }
  return { names, ids };
}

function resolveServerGroups(w: World, req: SimRequest, root: Body): string[] {
  const hints = asRecord(root["os:scheduler_hints"]) ?? asRecord(root["OS-SCH-HNT:scheduler_hints"]);
  if (hints?.["group"] === undefined) return [];
  const gid = hints["group"];
  const g = typeof gid === "string" ? w.data.serverGroups[gid] : undefined;
  if (!g || g.projectId !== req.auth.projectId) throw invalid("group", gid, `'${String(gid)}' is not a 'uuid'`);
  const lim = w.quotas(req.auth.projectId).server_group_members;
  if (lim >= 0 && g.members.length + 1 > lim) throw novaError(403, `Quota exceeded, too many servers in group`);
  return [g.id];
}

function checkNetworkEntry(w: World, req: SimRequest, n: unknown): Body {
  const e = asRecord(n);
  if (!e) throw invalid("networks", n, `${JSON.stringify(n)} is not of type 'object'`);
  if (e["uuid"] !== undefined && !isUuidLike(e["uuid"])) throw invalid("uuid", e["uuid"], `'${String(e["uuid"])}' is not a 'uuid'`);
  if (e["port"] !== undefined && e["port"] !== null && !isUuidLike(e["port"])) throw invalid("port", e["port"], `'${String(e["port"])}' is not a 'uuid'`);
  if (e["port"]) {
    const p = w.data.ports[e["port"] as string];
    if (!p || p["project_id"] !== req.auth.projectId) throw novaError(400, `Port id ${String(e["port"])} could not be found.`);
    if (p["device_id"]) throw novaError(409, `Port ${String(e["port"])} is still in use.`);
  } else if (e["uuid"]) {
    const net = w.data.networks[e["uuid"] as string];
    if (!net || !(net["project_id"] === req.auth.projectId || net["shared"] === true)) throw novaError(400, `Network ${String(e["uuid"])} could not be found.`);
  } else {
    throw novaError(400, "Bad networks format: network uuid is not in proper format ()");
  }
  return e;
}

/** The ports to create or bind: explicit entries, or with "auto"/nothing the project's only private network. */
function resolveNetworkEntries(w: World, req: SimRequest, networks: unknown): Body[] {
  if (Array.isArray(networks)) return (networks as unknown[]).map((n) => checkNetworkEntry(w, req, n));
  if (networks !== undefined && networks !== "auto") return [];
  const candidates = Object.values(w.data.networks).filter(
    (n) => n["router:external"] !== true && (n["project_id"] === req.auth.projectId || n["shared"] === true),
  );
  if (candidates.length > 1) throw novaError(409, "Multiple possible networks found, use a Network ID to be more specific.");
  if (candidates.length === 1) return [{ uuid: (candidates[0] as Rec).id }];
  if (networks === "auto") throw novaError(400, `Unable to automatically allocate a network for project ${req.auth.projectId}`);
  return [];
}

function checkExistingVolumes(w: World, req: SimRequest, bdms: Body[]): void {
  for (const d of bdms) {
    if (d["source_type"] !== "volume") continue;
    const v = w.data.volumes[String(d["uuid"])];
    if (!v || v["project_id"] !== req.auth.projectId) throw novaError(400, `Block Device Mapping is Invalid: failed to get volume ${String(d["uuid"])}.`);
    if (v["status"] !== "available") throw novaError(400, `Invalid volume: volume ${v.id} status must be available`);
  }
}

interface ServerPlan {
  name: string;
  flavor: Server["flavor"];
  boot: BootSource;
  metadata: Record<string, string>;
  tags: string[];
  az: string;
  keyName: string | null;
  securityGroups: { names: string[]; ids: string[] | undefined };
  serverGroupIds: string[];
  entries: Body[];
}

function newServerRecord(req: SimRequest, b: Body, plan: ServerPlan): Server {
  const ts = nowIso();
  const userData = b["user_data"];
  return {
    id: uuid(),
    name: plan.name,
    projectId: req.auth.projectId,
    userId: req.auth.userId,
    flavor: { ...plan.flavor },
    imageId: plan.boot.bootVolume ? "" : plan.boot.imageId,
    keyName: plan.keyName,
    metadata: plan.metadata,
    tags: plan.tags,
    az: plan.az,
    status: "BUILD",
    vmState: "building",
    taskState: "scheduling",
    powerState: 0,
    created: ts,
    updated: ts,
    launchedAt: null,
    portIds: [],
    novaPortIds: [],
    securityGroupNames: plan.securityGroups.names,
    serverGroupIds: plan.serverGroupIds,
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
}

/** Validates a POST /servers body against the world; throws Nova's error for the first failing check. */
function planServer(api: ComputeApi, req: SimRequest): { b: Body; plan: ServerPlan } {
  const w = api.w();
  const { root, b } = parseEnvelope(req.body);
  const name = checkName(b);
  checkFlavorRef(b);
  checkUserData(b["user_data"]);
  const metadata = b["metadata"] !== undefined ? api.checkMeta(req, b["metadata"], {}) : {};
  const tags = checkTags(b, api.checkTag);
  checkNetworksShape(req, b);
  const flavorId = String(b["flavorRef"]).split("/").pop() as string;
  const flavor = w.data.flavors[flavorId];
  if (!flavor) throw novaError(400, `Flavor ${flavorId} could not be found.`);
  const boot = resolveBootSource(w, req, b, flavor.disk);
  const az = resolveZone(w, b);
  const keyName = resolveKeyName(w, req, b);
  const securityGroups = resolveSecurityGroups(w, req, b);
  const serverGroupIds = resolveServerGroups(w, req, root);
  const entries = resolveNetworkEntries(w, req, b["networks"]);
  checkExistingVolumes(w, req, boot.bdms);
  checkNovaServerQuota(w, req.auth.projectId, { instances: 1, cores: flavor.vcpus, ram: flavor.ram });
  return { b, plan: { name, flavor, boot, metadata, tags, az, keyName, securityGroups, serverGroupIds, entries } };
}

/** Ports and volumes are made during the build on a real cloud: a failure there leaves the server in ERROR. */
function attachBuildResources(api: ComputeApi, req: SimRequest, s: Server, plan: ServerPlan): void {
  const w = api.w();
  try {
    for (const e of plan.entries) {
      if (e["port"]) api.bindExistingPort(req, s, e["port"] as string);
      else api.createServerPort(req, s, e["uuid"] as string, e["fixed_ip"], plan.securityGroups.ids);
    }
    for (const d of plan.boot.bdms) {
      if (d["destination_type"] !== "volume") continue;
      if (d["source_type"] === "volume") {
        attachVolume(w.data.volumes[String(d["uuid"])] as Rec, s, d["delete_on_termination"] === true);
        continue;
      }
      const size = Number(d["volume_size"] ?? Math.ceil(Number(w.data.images[plan.boot.imageId]?.["size"] ?? 1) / 1024 ** 3));
      const v = createVolumeRecord(w, req.auth.projectId, {
        size: size > 0 ? size : 1,
        name: "",
        imageId: d["source_type"] === "image" ? String(d["uuid"]) : undefined,
        az: plan.az,
        status: "in-use",
        bootable: d["source_type"] === "image",
        userId: req.auth.userId,
      });
      attachVolume(v, s, d["delete_on_termination"] === true);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    s.failBuild = `Build of instance ${s.id} aborted: ${JSON.stringify(e.body)}`;
  }
}

/** The POST /servers handler: plan (all checks), record and place the server, build its ports and volumes. */
export function serverCreator(api: ComputeApi): (req: SimRequest) => SimResponse {
  return (req) => {
    const w = api.w();
    const { b, plan } = planServer(api, req);
    const s = newServerRecord(req, b, plan);
    const placement = placeServer(w, s, plan.serverGroupIds);
    if (placement === undefined) s.failBuild = NO_VALID_HOST;
    s.host = placement ?? 0;
    s.hostId = createHash("sha224").update(`${req.auth.projectId}${plan.az}-host-${s.host}`).digest("hex");
    w.data.servers[s.id] = s;
    for (const gid of plan.serverGroupIds) w.data.serverGroups[gid]?.members.push(s.id);
    attachBuildResources(api, req, s, plan);
    if (!s.failBuild && api.ctx.faults.takeServerBuildFailure()) s.failBuild = NO_VALID_HOST;
    w.schedule("server-build", s.id, w.timing.buildDelayMs);
    const server = {
      "OS-DCF:diskConfig": "MANUAL",
      adminPass: s.adminPass,
      id: s.id,
      links: api.serverLinks(s.id),
      security_groups: plan.securityGroups.names.map((n) => ({ name: n })),
    };
    return { status: 202, headers: { location: `${api.base()}/servers/${s.id}` }, body: { server } };
  };
}
