import { listAll } from "./pagination.js";
import { compareMicroversions } from "./microversion.js";
import { ospath } from "./path-template.js";
import type { OpenStackSession, Query } from "./session.js";

/** Fields we use; every other field of the API response is kept as is. */
export interface Server {
  id: string;
  name: string;
  status: string;
  tags?: string[];
  metadata?: Record<string, string>;
  addresses?: Record<string, { addr: string; version: number; "OS-EXT-IPS:type"?: string; "OS-EXT-IPS-MAC:mac_addr"?: string }[]>;
  "OS-EXT-AZ:availability_zone"?: string;
  "OS-EXT-STS:vm_state"?: string;
  "OS-EXT-STS:task_state"?: string | null;
  flavor?: { id?: string; original_name?: string; [k: string]: unknown };
  image?: { id?: string } | string;
  key_name?: string | null;
  fault?: { code: number; message: string; details?: string };
  [k: string]: unknown;
}

export interface BlockDeviceMapping {
  boot_index?: number;
  uuid?: string;
  source_type: "image" | "volume" | "snapshot" | "blank";
  destination_type?: "volume" | "local";
  volume_size?: number;
  volume_type?: string;
  delete_on_termination?: boolean;
  device_name?: string;
  disk_bus?: string;
  guest_format?: string;
  tag?: string;
  [k: string]: unknown;
}

export interface ServerCreate {
  name: string;
  flavorRef: string;
  imageRef?: string;
  networks?: ({ port: string } | { uuid: string; fixed_ip?: string })[] | "none" | "auto";
  block_device_mapping_v2?: BlockDeviceMapping[];
  /** Cloud-init or other user data as plain text; sent base64-encoded as Nova requires. */
  userData?: string;
  key_name?: string;
  availability_zone?: string;
  metadata?: Record<string, string>;
  tags?: string[];
  config_drive?: boolean;
  security_groups?: { name: string }[];
  description?: string;
  /** os:scheduler_hints, e.g. { group: serverGroupId }. */
  schedulerHints?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  [k: string]: unknown;
}
export interface Keypair {
  name: string;
  public_key: string;
  fingerprint?: string;
  [k: string]: unknown;
}
export interface AvailabilityZone {
  zoneName: string;
  zoneState: { available: boolean };
  [k: string]: unknown;
}
export interface ServerGroup {
  id: string;
  name: string;
  policy?: string;
  policies?: string[];
  members: string[];
  [k: string]: unknown;
}
export interface InterfaceAttachment {
  port_id: string;
  net_id: string;
  mac_addr: string;
  port_state: string;
  fixed_ips: { ip_address: string; subnet_id: string }[];
  [k: string]: unknown;
}

export interface ServerListFilter {
  /** Exact name (Nova takes a regex: it is anchored and escaped here). */
  name?: string;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  [k: string]: unknown;
}

export interface CallOptions {
  microversion?: string;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function serverQuery(f: ServerListFilter): Query {
  const { name, tags, tagsAny, notTags, ...rest } = f;
  const q: Query = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) q[k] = String(v);
  if (name !== undefined) q["name"] = `^${escapeRegex(name)}$`;
  if (tags?.length) q["tags"] = tags.join(",");
  if (tagsAny?.length) q["tags-any"] = tagsAny.join(",");
  if (notTags?.length) q["not-tags"] = notTags.join(",");
  return q;
}

/** Nova (compute v2.1) calls capo uses. */
export function compute(session: OpenStackSession) {
  const req = session.request.bind(session);
  return {
    async createServer(s: ServerCreate, o: CallOptions = {}): Promise<{ id: string; [k: string]: unknown }> {
      const { userData, schedulerHints, ...server } = s;
      if (userData !== undefined) server["user_data"] = Buffer.from(userData, "utf8").toString("base64");
      const body: Record<string, unknown> = { server };
      if (schedulerHints && Object.keys(schedulerHints).length) body["os:scheduler_hints"] = schedulerHints;
      const r = await req<{ server: { id: string } }>("compute", "POST", ospath`/servers`, { body, ...o });
      return r.body.server;
    },
    async getServer(id: string, o: CallOptions = {}): Promise<Server> {
      return (await req<{ server: Server }>("compute", "GET", ospath`/servers/${id}`, o)).body.server;
    },
    /** Servers (detailed) matching the filter; a name filter matches exactly. */
    async listServers(f: ServerListFilter = {}, o: CallOptions = {}): Promise<Server[]> {
      const all = await listAll<Server>(session, "compute", ospath`/servers/detail`, "servers", serverQuery(f), o);
      return f.name === undefined ? all : all.filter((s) => s.name === f.name);
    },
    async deleteServer(id: string): Promise<void> {
      await req("compute", "DELETE", ospath`/servers/${id}`);
    },
    async getFlavor(id: string): Promise<Flavor> {
      return (await req<{ flavor: Flavor }>("compute", "GET", ospath`/flavors/${id}`)).body.flavor;
    },
    async listFlavors(f: { name?: string } = {}): Promise<Flavor[]> {
      const all = await listAll<Flavor>(session, "compute", ospath`/flavors/detail`, "flavors");
      return f.name === undefined ? all : all.filter((x) => x.name === f.name);
    },
    async getKeypair(name: string): Promise<Keypair> {
      return (await req<{ keypair: Keypair }>("compute", "GET", ospath`/os-keypairs/${name}`)).body.keypair;
    },
    /** Imports a public key (tests and the simulator demo create keypairs; capo itself only reads them). */
    async createKeypair(k: { name: string; public_key: string; type?: string }): Promise<Keypair> {
      return (await req<{ keypair: Keypair }>("compute", "POST", ospath`/os-keypairs`, { body: { keypair: k } })).body.keypair;
    },
    async deleteKeypair(name: string): Promise<void> {
      await req("compute", "DELETE", ospath`/os-keypairs/${name}`);
    },
    async listAvailabilityZones(): Promise<AvailabilityZone[]> {
      return (await req<{ availabilityZoneInfo: AvailabilityZone[] }>("compute", "GET", ospath`/os-availability-zone`)).body
        .availabilityZoneInfo;
    },
    async getServerGroup(id: string): Promise<ServerGroup> {
      return (await req<{ server_group: ServerGroup }>("compute", "GET", ospath`/os-server-groups/${id}`)).body.server_group;
    },
    async listServerGroups(f: { name?: string } = {}): Promise<ServerGroup[]> {
      const all = await listAll<ServerGroup>(session, "compute", ospath`/os-server-groups`, "server_groups");
      return f.name === undefined ? all : all.filter((x) => x.name === f.name);
    },
    /** Whether the cloud's Nova supports this microversion (its maximum is at least it). */
    async supportsMicroversion(microversion: string): Promise<boolean> {
      const max = await session.computeMaxMicroversion();
      return max !== undefined && compareMicroversions(max, microversion) >= 0;
    },
    /** Creates a server group; `policy` is sent as 2.64+ expects it, or as the older `policies` list. */
    async createServerGroup(g: { name: string; policy: string; rules?: Record<string, unknown> }): Promise<ServerGroup> {
      const max = await session.computeMaxMicroversion();
      const modern = max !== undefined && compareMicroversions(max, "2.64") >= 0;
      const server_group = modern ? g : { name: g.name, policies: [g.policy] };
      const r = await req<{ server_group: ServerGroup }>("compute", "POST", ospath`/os-server-groups`, {
        body: { server_group },
        ...(modern ? { microversion: "2.64" } : {}),
      });
      return r.body.server_group;
    },
    async deleteServerGroup(id: string): Promise<void> {
      await req("compute", "DELETE", ospath`/os-server-groups/${id}`);
    },
    async listServerInterfaces(serverId: string): Promise<InterfaceAttachment[]> {
      return (await req<{ interfaceAttachments: InterfaceAttachment[] }>("compute", "GET", ospath`/servers/${serverId}/os-interface`))
        .body.interfaceAttachments;
    },
    async listServerTags(serverId: string): Promise<string[]> {
      return (await req<{ tags: string[] }>("compute", "GET", ospath`/servers/${serverId}/tags`)).body.tags;
    },
    async replaceServerTags(serverId: string, tags: string[]): Promise<string[]> {
      return (await req<{ tags: string[] }>("compute", "PUT", ospath`/servers/${serverId}/tags`, { body: { tags } })).body.tags;
    },
    async addServerTag(serverId: string, tag: string): Promise<void> {
      await req("compute", "PUT", ospath`/servers/${serverId}/tags/${tag}`);
    },
    async deleteServerTag(serverId: string, tag: string): Promise<void> {
      await req("compute", "DELETE", ospath`/servers/${serverId}/tags/${tag}`);
    },
    async getServerMetadata(serverId: string): Promise<Record<string, string>> {
      return (await req<{ metadata: Record<string, string> }>("compute", "GET", ospath`/servers/${serverId}/metadata`)).body.metadata;
    },
    /** Adds or updates the given keys, leaving others. */
    async updateServerMetadata(serverId: string, metadata: Record<string, string>): Promise<Record<string, string>> {
      return (await req<{ metadata: Record<string, string> }>("compute", "POST", ospath`/servers/${serverId}/metadata`, { body: { metadata } }))
        .body.metadata;
    },
    /** Replaces all metadata. */
    async replaceServerMetadata(serverId: string, metadata: Record<string, string>): Promise<Record<string, string>> {
      return (await req<{ metadata: Record<string, string> }>("compute", "PUT", ospath`/servers/${serverId}/metadata`, { body: { metadata } }))
        .body.metadata;
    },
  };
}

export type ComputeClient = ReturnType<typeof compute>;
