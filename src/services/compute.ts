import type { BlockDeviceMapping, ComputeClient, NetworkClient, Server, ServerCreate } from "../openstack/index.js";
import { NotFoundError } from "../openstack/index.js";
import { deleteIgnoringNotFound, oldestFirst } from "./find-or-create.js";
import type { ClusterIdentity } from "./naming.js";

/**
 * Nova tags may not contain "/" (and the cluster tag does), so our servers carry the cluster in metadata:
 * a server is ours when its name is the machine's and this key names the cluster.
 */
export const SERVER_CLUSTER_METADATA = "capo-cluster";

/**
 * Servers Nova still lists but that are gone for us: SOFT_DELETED ones (reclaim_instance_interval) stay until
 * reclaimed, possibly for days, and waiting for them would block deletion that long (upstream CAPO #2618).
 */
export function isGone(server: Server): boolean {
  return server.status === "SOFT_DELETED" || server.status === "DELETED";
}

export interface ServerParams {
  name: string;
  flavorID: string;
  /** Omitted when booting from a root volume. */
  imageID?: string;
  portIDs: string[];
  blockDevices?: BlockDeviceMapping[];
  /** The bootstrap data as stored in the Secret (text); the client base64-encodes it for Nova. */
  userData?: string;
  sshKeyName?: string;
  availabilityZone?: string;
  metadata?: Record<string, string>;
  tags?: string[];
  configDrive?: boolean;
  serverGroupID?: string;
  schedulerHints?: Record<string, unknown>;
}

/** Server operations for one cluster. Creation never happens here without the caller's find-before-create. */
export class ServerService {
  constructor(
    private readonly nova: ComputeClient,
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
  ) {}

  private clusterValue(): string {
    return `${this.cluster.namespace}/${this.cluster.name}`;
  }

  private ours(s: Server, name: string): boolean {
    return s.name === name && s.metadata?.[SERVER_CLUSTER_METADATA] === this.clusterValue();
  }

  /** The server by id, or undefined when Nova answers 404 or it is gone (deleted, possibly behind our back). */
  async get(id: string): Promise<Server | undefined> {
    try {
      const s = await this.nova.getServer(id);
      return isGone(s) ? undefined : s;
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * A server created for this machine whose id we did not record (a crash between the create call and the
   * status write). First by the binding of our pre-created port, which Neutron answers authoritatively; then by
   * name + our metadata. Nova refuses to bind a port twice, so a second server could not take our ports anyway.
   */
  async findUnrecorded(name: string, firstPortID: string | undefined): Promise<Server | undefined> {
    if (firstPortID) {
      try {
        const port = await this.net.ports.get(firstPortID);
        if (port.device_id && (port.device_owner ?? "").startsWith("compute:")) {
          const s = await this.get(port.device_id);
          // Someone may have attached our port to a server of theirs; that one is not ours to adopt or delete.
          if (s && this.ours(s, name)) return s;
        }
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    return (await this.listOurs(name))[0];
  }

  /** Every server with this name and our metadata that is not gone, oldest first. */
  async listOurs(name: string): Promise<Server[]> {
    const found = (await this.nova.listServers({ name })).filter((s) => this.ours(s, name) && !isGone(s));
    return oldestFirst(found, (s) => s["created"]);
  }

  /** Sends the create request; the caller records the returned id at once. */
  async create(p: ServerParams): Promise<string> {
    const hints: Record<string, unknown> = { ...(p.schedulerHints ?? {}) };
    if (p.serverGroupID) hints["group"] = p.serverGroupID;
    const body: ServerCreate = {
      name: p.name,
      flavorRef: p.flavorID,
      networks: p.portIDs.map((port) => ({ port })),
      metadata: { ...(p.metadata ?? {}), [SERVER_CLUSTER_METADATA]: this.clusterValue() },
      ...(p.imageID ? { imageRef: p.imageID } : {}),
      ...(p.blockDevices?.length ? { block_device_mapping_v2: p.blockDevices } : {}),
      ...(p.userData !== undefined ? { userData: p.userData } : {}),
      ...(p.sshKeyName ? { key_name: p.sshKeyName } : {}),
      ...(p.availabilityZone ? { availability_zone: p.availabilityZone } : {}),
      ...(p.tags?.length ? { tags: p.tags } : {}),
      ...(p.configDrive ? { config_drive: true } : {}),
      ...(Object.keys(hints).length ? { schedulerHints: hints } : {}),
    };
    return (await this.nova.createServer(body)).id;
  }

  /** Asks Nova to delete the server; true when it existed. Deleting an already deleted server is success. */
  delete(id: string): Promise<boolean> {
    return deleteIgnoringNotFound(() => this.nova.deleteServer(id));
  }
}

export interface NodeAddress {
  type: "InternalIP" | "ExternalIP" | "InternalDNS" | "Hostname" | "ExternalDNS";
  address: string;
}

/** status.addresses from a server: fixed IPs as InternalIP, floating IPs as ExternalIP, the name as InternalDNS. */
export function serverAddresses(server: Server): NodeAddress[] {
  const out: NodeAddress[] = [];
  const seen = new Set<string>();
  const add = (a: NodeAddress): void => {
    const k = `${a.type}/${a.address}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(a);
    }
  };
  for (const list of Object.values(server.addresses ?? {})) {
    for (const a of list) {
      add({ type: a["OS-EXT-IPS:type"] === "floating" ? "ExternalIP" : "InternalIP", address: a.addr });
    }
  }
  add({ type: "InternalDNS", address: server.name });
  return out;
}

/**
 * addresses with a floating IP as ExternalIP, placed where Nova lists it: right after the fixed address it points
 * at (else after the last InternalIP). Unchanged when it is there already.
 */
export function withFloatingIP<A extends { type: string; address: string }>(addresses: readonly A[], floatingIP: string, fixedIP: string | undefined): (A | NodeAddress)[] {
  if (addresses.some((a) => a.type === "ExternalIP" && a.address === floatingIP)) return [...addresses];
  const byFixed = addresses.findIndex((a) => a.type === "InternalIP" && a.address === fixedIP);
  const at = byFixed >= 0 ? byFixed : addresses.map((a) => a.type).lastIndexOf("InternalIP");
  const out: (A | NodeAddress)[] = [...addresses];
  out.splice(at + 1, 0, { type: "ExternalIP", address: floatingIP });
  return out;
}
