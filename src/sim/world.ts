import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { QuotaLimits, SimConfig, TimingConfig } from "./config.js";
import { DEFAULT_QUOTAS, resolveTiming } from "./config.js";
import { nowIso } from "./http.js";
import type { Microversion } from "./nova-versions.js";
import { isOptionalService, neutronExtensionsOf, profileOf, type OptionalService } from "./profiles.js";

/** API-shaped records (Neutron, Glance, Octavia, Cinder) are kept as the JSON the API returns. */
export type Rec = Record<string, unknown> & { id: string };

export interface Domain {
  id: string;
  name: string;
}
export interface Project {
  id: string;
  name: string;
  domainId: string;
  quotas: QuotaLimits;
}
export interface User {
  id: string;
  name: string;
  domainId: string;
  passwordHash: string;
  projectIds: string[];
}
export interface AppCred {
  id: string;
  name: string;
  secretHash: string;
  userId: string;
  projectId: string;
  description: string | null;
  expiresAt: string | null;
}
export interface Token {
  id: string;
  userId: string;
  projectId: string;
  methods: string[];
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
  appCredId?: string;
}
export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  swap: number;
  description: string | null;
  extraSpecs: Record<string, string>;
  isPublic: boolean;
}
export interface Keypair {
  id: number;
  name: string;
  userId: string;
  publicKey: string;
  fingerprint: string;
  type: string;
  createdAt: string;
}
export interface ServerGroup {
  id: string;
  name: string;
  policy: string;
  rules: Record<string, unknown>;
  members: string[];
  projectId: string;
  userId: string;
}
export interface Server {
  id: string;
  name: string;
  projectId: string;
  userId: string;
  flavor: Flavor;
  imageId: string;
  keyName: string | null;
  metadata: Record<string, string>;
  tags: string[];
  az: string;
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
  created: string;
  updated: string;
  launchedAt: string | null;
  fault?: { code: number; message: string; details?: string; created: string };
  /** Ports in attachment order. */
  portIds: string[];
  /** Ports Nova created for this server (deleted with it); pre-created ports are only unbound. */
  novaPortIds: string[];
  securityGroupNames: string[];
  serverGroupIds: string[];
  volumes: { id: string; deleteOnTermination: boolean }[];
  description: string | null;
  hostId: string;
  /** Index of the simulated compute host within the AZ. */
  host: number;
  adminPass: string;
  userData: string | null;
  configDrive: string;
  accessIPv4: string;
  accessIPv6: string;
  locked: boolean;
  /** Set when the next build must fail (fault injection). */
  failBuild?: string;
}

export interface Transition {
  at: number;
  kind: string;
  id: string;
}

export interface WorldData {
  adminProjectId: string;
  domains: Record<string, Domain>;
  projects: Record<string, Project>;
  users: Record<string, User>;
  appCreds: Record<string, AppCred>;
  tokens: Record<string, Token>;
  flavors: Record<string, Flavor>;
  images: Record<string, Rec>;
  availabilityZones: string[];
  networks: Record<string, Rec>;
  subnets: Record<string, Rec>;
  ports: Record<string, Rec>;
  routers: Record<string, Rec>;
  securityGroups: Record<string, Rec>;
  securityGroupRules: Record<string, Rec>;
  floatingIps: Record<string, Rec>;
  trunks: Record<string, Rec>;
  servers: Record<string, Server>;
  keypairs: Record<string, Keypair>;
  serverGroups: Record<string, ServerGroup>;
  loadbalancers: Record<string, Rec>;
  listeners: Record<string, Rec>;
  pools: Record<string, Rec>;
  members: Record<string, Rec>;
  healthmonitors: Record<string, Rec>;
  volumes: Record<string, Rec>;
  transitions: Transition[];
  counters: { keypair: number; standardAttr: number; mac: number };
  catalogIds: Record<string, string>;
}

export type TransitionHandler = (world: World, id: string) => void;

export function hexId(): string {
  return randomUUID().replace(/-/g, "");
}
export function uuid(): string {
  return randomUUID();
}
export function hashSecret(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
export function randomSecret(bytes = 48): string {
  return randomBytes(bytes).toString("base64url");
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export function isUuidLike(s: unknown): s is string {
  return typeof s === "string" && UUID_RE.test(s);
}

/** All simulated state plus the clock-driven transitions (BUILD -> ACTIVE etc.). */
export class World {
  data: WorldData;
  timing: TimingConfig;
  region: string;
  tokenTtlSeconds: number;
  hostsPerZone: number;
  /** Aliases of the Neutron extensions this cloud has (from the profile or the config's list). */
  neutronExtensions: ReadonlySet<string>;
  /** The optional services (Octavia, Cinder) in this cloud's catalog. */
  optionalServices: ReadonlySet<OptionalService>;
  novaMaxMicroversion: Microversion;
  dirty = false;
  private readonly handlers = new Map<string, TransitionHandler>();

  constructor(data: WorldData, config: SimConfig) {
    this.data = data;
    this.timing = resolveTiming(config.timing);
    this.region = config.region ?? "RegionOne";
    this.tokenTtlSeconds = config.tokenTtlSeconds ?? 3600;
    this.hostsPerZone = config.hostsPerZone ?? 16;
    this.neutronExtensions = neutronExtensionsOf(config);
    const profile = profileOf(config);
    this.optionalServices = new Set(profile.services);
    this.novaMaxMicroversion = profile.novaMaxMicroversion;
  }

  /** False for an optional service (Octavia, Cinder) this cloud's profile leaves out. */
  hasService(service: string): boolean {
    return !isOptionalService(service) || this.optionalServices.has(service);
  }

  hasNeutronExtension(alias: string): boolean {
    return this.neutronExtensions.has(alias);
  }

  onTransition(kind: string, handler: TransitionHandler): void {
    this.handlers.set(kind, handler);
  }

  schedule(kind: string, id: string, delayMs: number): void {
    this.data.transitions.push({ at: Date.now() + delayMs, kind, id });
    this.dirty = true;
  }

  /** Applies every transition that is due. Called before each request is handled. */
  advance(now = Date.now()): void {
    const list = this.data.transitions;
    if (list.length === 0 || !list.some((t) => t.at <= now)) return;
    const due = list.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    this.data.transitions = list.filter((t) => t.at > now);
    for (const t of due) this.handlers.get(t.kind)?.(this, t.id);
    this.dirty = true;
  }

  /** Time of the next pending transition, if any (for tests waiting on the world). */
  nextTransitionAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.data.transitions) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  nextStandardAttrId(): number {
    this.data.counters.standardAttr += 1;
    return this.data.counters.standardAttr;
  }

  newMac(): string {
    this.data.counters.mac += 1;
    const n = this.data.counters.mac + Math.floor(Math.random() * 0x100) * 0x10000;
    const b = [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff].map((x) => x.toString(16).padStart(2, "0"));
    return `fa:16:3e:${b.join(":")}`;
  }

  project(id: string): Project | undefined {
    return this.data.projects[id];
  }

  quotas(projectId: string): QuotaLimits {
    return this.data.projects[projectId]?.quotas ?? DEFAULT_QUOTAS;
  }

  touch(): void {
    this.dirty = true;
  }
}

export function emptyWorldData(): WorldData {
  return {
    adminProjectId: "",
    domains: {},
    projects: {},
    users: {},
    appCreds: {},
    tokens: {},
    flavors: {},
    images: {},
    availabilityZones: [],
    networks: {},
    subnets: {},
    ports: {},
    routers: {},
    securityGroups: {},
    securityGroupRules: {},
    floatingIps: {},
    trunks: {},
    servers: {},
    keypairs: {},
    serverGroups: {},
    loadbalancers: {},
    listeners: {},
    pools: {},
    members: {},
    healthmonitors: {},
    volumes: {},
    transitions: [],
    counters: { keypair: 0, standardAttr: 0, mac: 0 },
    catalogIds: {},
  };
}

export function makeImage(
  spec: NonNullable<SimConfig["images"]>[number],
  owner: string,
): Rec {
  const id = spec.id ?? uuid();
  const ts = nowIso();
  const size = spec.size ?? 1_048_576;
  return {
    checksum: createHash("md5").update(id).digest("hex"),
    container_format: spec.containerFormat ?? "bare",
    created_at: ts,
    disk_format: spec.diskFormat ?? "raw",
    file: `/v2/images/${id}/file`,
    id,
    min_disk: spec.minDisk ?? 0,
    min_ram: spec.minRam ?? 0,
    name: spec.name,
    os_hash_algo: "sha512",
    os_hash_value: createHash("sha512").update(id).digest("hex"),
    os_hidden: false,
    owner,
    "owner_specified.openstack.md5": "",
    "owner_specified.openstack.object": `images/${spec.name}`,
    "owner_specified.openstack.sha256": "",
    protected: false,
    schema: "/v2/schemas/image",
    self: `/v2/images/${id}`,
    size,
    status: spec.status ?? "active",
    stores: "fs",
    tags: spec.tags ?? [],
    updated_at: ts,
    virtual_size: size,
    visibility: spec.visibility ?? "public",
    ...(spec.properties ?? {}),
  };
}
