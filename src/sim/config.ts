import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { UserError, errorMessage } from "../util/errors.js";
import { NEUTRON_EXTENSIONS } from "./neutron-extensions.js";
import { isProfileName, profileNames } from "./profiles.js";

/** Per-project quota limits; -1 means unlimited. Keys are the services' own names. */
export interface QuotaLimits {
  instances: number;
  cores: number;
  ram: number;
  key_pairs: number;
  server_groups: number;
  server_group_members: number;
  metadata_items: number;
  network: number;
  subnet: number;
  port: number;
  router: number;
  floatingip: number;
  security_group: number;
  security_group_rule: number;
  loadbalancer: number;
  listener: number;
  pool: number;
  member: number;
  healthmonitor: number;
  volumes: number;
  gigabytes: number;
  snapshots: number;
}

export const DEFAULT_QUOTAS: QuotaLimits = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  loadbalancer: 10,
  listener: -1,
  pool: -1,
  member: -1,
  healthmonitor: -1,
  volumes: 10,
  gigabytes: 1000,
  snapshots: 10,
};

export interface TimingConfig {
  /** BUILD -> ACTIVE for servers, PENDING_CREATE -> ACTIVE for load balancers. */
  buildDelayMs: number;
  /** Server and load balancer deletion. */
  deleteDelayMs: number;
  /** PENDING_UPDATE -> ACTIVE for load balancer children. */
  lbUpdateDelayMs: number;
  /** creating -> available for volumes. */
  volumeDelayMs: number;
}

export interface SimConfig {
  /** A named profile (sim/profiles.ts): which optional features the cloud has. Default "zed". */
  profile?: string;
  /** Neutron extension aliases, replacing the profile's list. */
  neutronExtensions?: string[];
  region?: string;
  tokenTtlSeconds?: number;
  timing?: Partial<TimingConfig>;
  /** Default quota limits for every project (overridden per project). */
  quotas?: Partial<QuotaLimits>;
  domains?: { id?: string; name: string }[];
  projects?: { id?: string; name: string; domain?: string; quotas?: Partial<QuotaLimits> }[];
  users?: {
    id?: string;
    name: string;
    password: string;
    domain?: string;
    /** Project names the user is a member of. */
    projects?: string[];
  }[];
  applicationCredentials?: {
    id?: string;
    name: string;
    secret: string;
    /** User name (in the user's domain). */
    user: string;
    /** Project name. */
    project: string;
  }[];
  flavors?: {
    id?: string;
    name: string;
    vcpus: number;
    ram: number;
    disk: number;
    ephemeral?: number;
    swap?: number;
    description?: string | null;
    extraSpecs?: Record<string, string>;
  }[];
  images?: {
    id?: string;
    name: string;
    status?: string;
    visibility?: string;
    diskFormat?: string;
    containerFormat?: string;
    minDisk?: number;
    minRam?: number;
    size?: number;
    tags?: string[];
    properties?: Record<string, string>;
  }[];
  externalNetworks?: {
    id?: string;
    name: string;
    cidr: string;
    gatewayIp?: string;
    allocationPools?: { start: string; end: string }[];
  }[];
  availabilityZones?: string[];
  /** Compute hosts per availability zone; hard anti-affinity groups cannot grow past it. Default 16. */
  hostsPerZone?: number;
  /** neutron.conf l3_ha: every router is HA; its interfaces are owned by network:ha_router_replicated_interface. */
  l3Ha?: boolean;
  /** nova.conf reclaim_instance_interval: when > 0, deleting a launched server soft-deletes it (SOFT_DELETED) for that long. */
  reclaimInstanceIntervalSeconds?: number;
}

/** The world a bare `capo sim` starts with: one cloud such as a small public provider offers. */
export const DEFAULT_CONFIG: SimConfig = {
  region: "RegionOne",
  tokenTtlSeconds: 3600,
  domains: [{ id: "default", name: "Default" }],
  projects: [{ name: "admin" }, { name: "demo" }, { name: "alt_demo" }],
  users: [
    { name: "admin", password: "admin", projects: ["admin", "demo"] },
    { name: "demo", password: "demo", projects: ["demo"] },
    { name: "alt_demo", password: "alt_demo", projects: ["alt_demo"] },
  ],
  flavors: [
    { name: "m1.tiny", vcpus: 1, ram: 512, disk: 1 },
    { name: "m1.small", vcpus: 1, ram: 2048, disk: 20 },
    { name: "m1.medium", vcpus: 2, ram: 4096, disk: 40 },
    { name: "m1.large", vcpus: 4, ram: 8192, disk: 80 },
    { name: "2C-4GB-100GB", vcpus: 2, ram: 4096, disk: 100 },
    { name: "4C-8GB-100GB", vcpus: 4, ram: 8192, disk: 100 },
  ],
  images: [
    { name: "ubuntu-24.04", size: 620_000_000, minDisk: 10 },
    { name: "Ubuntu_20.04_node", size: 540_000_000, minDisk: 10 },
    { name: "cirros", size: 21_430_272, diskFormat: "qcow2" },
  ],
  externalNetworks: [{ name: "public", cidr: "172.24.4.0/24" }],
  availabilityZones: ["nova", "az2"],
};

export const DEFAULT_TIMING: TimingConfig = {
  buildDelayMs: 1000,
  deleteDelayMs: 300,
  lbUpdateDelayMs: 300,
  volumeDelayMs: 300,
};

/** Timing from a config where only buildDelayMs was given: the others scale with it. */
export function resolveTiming(t: Partial<TimingConfig> | undefined): TimingConfig {
  const build = t?.buildDelayMs ?? DEFAULT_TIMING.buildDelayMs;
  const scaled = Math.round(build * 0.3);
  return {
    buildDelayMs: build,
    deleteDelayMs: t?.deleteDelayMs ?? (t?.buildDelayMs !== undefined ? scaled : DEFAULT_TIMING.deleteDelayMs),
    lbUpdateDelayMs: t?.lbUpdateDelayMs ?? (t?.buildDelayMs !== undefined ? scaled : DEFAULT_TIMING.lbUpdateDelayMs),
    volumeDelayMs: t?.volumeDelayMs ?? (t?.buildDelayMs !== undefined ? scaled : DEFAULT_TIMING.volumeDelayMs),
  };
}

/** Loads a world config (YAML or JSON). Lists given replace the default's lists; omitted ones keep the default. */
export async function loadSimConfigFile(path: string): Promise<SimConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new UserError(`--config ${path}: cannot read the file (${errorMessage(e)})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UserError(`--config ${path}: not valid YAML or JSON (${errorMessage(e)})`);
  }
  return validateSimConfig(doc, `--config ${path}`);
}

const LIST_KEYS = [
  "domains",
  "projects",
  "users",
  "applicationCredentials",
  "flavors",
  "images",
  "externalNetworks",
  "availabilityZones",
] as const;

export function validateSimConfig(doc: unknown, source: string): SimConfig {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new UserError(`${source}: the top level must be a mapping (keys such as projects, users, flavors)`);
  }
  const known = new Set<string>(["profile", "neutronExtensions", "region", "tokenTtlSeconds", "timing", "quotas", "hostsPerZone", "l3Ha", "reclaimInstanceIntervalSeconds", ...LIST_KEYS]);
  const rec = doc as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!known.has(k)) throw new UserError(`${source}: unknown key "${k}"; known keys are ${[...known].join(", ")}`);
  }
  for (const k of LIST_KEYS) {
    if (rec[k] !== undefined && !Array.isArray(rec[k])) throw new UserError(`${source}: "${k}" must be a list`);
  }
  const needName = ["domains", "projects", "users", "applicationCredentials", "flavors", "images", "externalNetworks"];
  for (const k of needName) {
    for (const [i, item] of ((rec[k] as unknown[] | undefined) ?? []).entries()) {
      if (typeof item !== "object" || item === null || typeof (item as { name?: unknown }).name !== "string") {
        throw new UserError(`${source}: ${k}[${i}] needs a string "name"`);
      }
    }
  }
  for (const [i, u] of ((rec["users"] as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (typeof u["password"] !== "string") throw new UserError(`${source}: users[${i}] needs a string "password"`);
  }
  for (const [i, f] of ((rec["flavors"] as Record<string, unknown>[] | undefined) ?? []).entries()) {
    for (const n of ["vcpus", "ram", "disk"]) {
      if (typeof f[n] !== "number") throw new UserError(`${source}: flavors[${i}].${n} must be a number`);
    }
  }
  for (const [i, n] of ((rec["externalNetworks"] as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (typeof n["cidr"] !== "string") throw new UserError(`${source}: externalNetworks[${i}].cidr must be a CIDR string`);
  }
  for (const [i, a] of ((rec["applicationCredentials"] as Record<string, unknown>[] | undefined) ?? []).entries()) {
    for (const n of ["secret", "user", "project"]) {
      if (typeof a[n] !== "string") throw new UserError(`${source}: applicationCredentials[${i}].${n} must be a string`);
    }
  }
  validateFeatures(rec, source);
  if (rec["hostsPerZone"] !== undefined && (typeof rec["hostsPerZone"] !== "number" || rec["hostsPerZone"] < 1)) {
    throw new UserError(`${source}: "hostsPerZone" must be a number >= 1`);
  }
  if (rec["l3Ha"] !== undefined && typeof rec["l3Ha"] !== "boolean") throw new UserError(`${source}: "l3Ha" must be true or false`);
  const reclaim = rec["reclaimInstanceIntervalSeconds"];
  if (reclaim !== undefined && (typeof reclaim !== "number" || reclaim < 0)) {
    throw new UserError(`${source}: "reclaimInstanceIntervalSeconds" must be a number >= 0`);
  }
  if (rec["timing"] !== undefined && (typeof rec["timing"] !== "object" || rec["timing"] === null)) {
    throw new UserError(`${source}: "timing" must be a mapping (buildDelayMs, deleteDelayMs, ...)`);
  }
  return rec as SimConfig;
}

/** `profile` names a known profile; `neutronExtensions` lists aliases the simulator implements. */
function validateFeatures(rec: Record<string, unknown>, source: string): void {
  if (rec["profile"] !== undefined && !isProfileName(rec["profile"])) {
    throw new UserError(`${source}: unknown profile ${JSON.stringify(rec["profile"])}; known profiles are ${profileNames().join(", ")}`);
  }
  const exts = rec["neutronExtensions"];
  if (exts === undefined) return;
  if (!Array.isArray(exts)) throw new UserError(`${source}: "neutronExtensions" must be a list of extension aliases`);
  const knownAliases = new Set(NEUTRON_EXTENSIONS.map((e) => e.alias));
  for (const [i, a] of exts.entries()) {
    if (typeof a !== "string" || !knownAliases.has(a)) {
      throw new UserError(`${source}: neutronExtensions[${i}] ${JSON.stringify(a)} is not an extension the simulator implements (see docs/sim.md)`);
    }
  }
}

/** The default config with the given one laid over it. */
export function mergeConfig(base: SimConfig, over: SimConfig | undefined): SimConfig {
  if (!over) return base;
  return {
    ...base,
    ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)),
    timing: { ...base.timing, ...over.timing },
    quotas: { ...base.quotas, ...over.quotas },
  };
}
