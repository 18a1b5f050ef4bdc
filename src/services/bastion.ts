import { NotFoundError, WaitTimeoutError, type ComputeClient, type FloatingIp, type ImageClient, type NetworkClient, type Port, type Server } from "../openstack/index.js";
import { resolveFlavorID, resolveImageID, type FlavorRef, type ImageRef } from "./compute-resolve.js";
import { ServerService } from "./compute.js";
import { TerminalError } from "./errors.js";
import { deleteIgnoringNotFound, findOrCreate, oldestFirst } from "./find-or-create.js";
import { FloatingIpService } from "./floatingips.js";
import { clusterTag, createdByDescription, resourceTags, type ClusterIdentity } from "./naming.js";
import { createTagged, ensureTags, isOursOrUntaggedOurs } from "./tagging.js";

/** The parts of spec.bastion this service uses. */
export interface BastionSpec {
  flavor: FlavorRef;
  image: ImageRef;
  sshKeyName?: string;
  availabilityZone?: string;
  /** An address to use for the bastion's floating IP (it should exist and be unassociated, or be allocatable). */
  floatingIP?: string;
}

/** What earlier reconciles recorded in status.bastion. */
export interface BastionKnown {
  serverId?: string;
  portId?: string;
}

export interface BastionPlacement {
  networkId: string;
  subnetId: string;
  securityGroupIds: string[];
  /** Undefined: no floating IP (no external network). */
  externalNetworkId?: string;
}

export type BastionProgress =
  | { phase: "building"; server: Server; port: Port }
  | { phase: "ready"; server: Server; port: Port; fip?: FloatingIp }
  | { phase: "failed"; server: Server; message: string };

/** Upstream CAPO's bastion server name: <cluster name>-bastion. */
export function bastionName(c: ClusterIdentity): string {
  return `${c.name}-bastion`;
}

/**
 * The bastion: one port on the cluster network (with the bastion security group), one server, and a floating IP
 * on the port. Each is found again (recorded id, port binding, name + cluster tag/metadata) before anything is
 * created, so a crash at any point creates nothing twice.
 */
export class BastionService {
  private readonly servers: ServerService;
  private readonly fips: FloatingIpService;

  constructor(
    private readonly nova: ComputeClient,
    private readonly images: ImageClient,
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
    private readonly specTags: readonly string[] = [],
  ) {
    this.servers = new ServerService(nova, net, cluster);
    this.fips = new FloatingIpService(net, cluster, specTags);
  }

  get name(): string {
    return bastionName(this.cluster);
  }

  /** Bastion ports by name: tagged, or untagged with our description (a crash came between creation and tagging). */
  private async ourPorts(): Promise<Port[]> {
    const identifies = (p: Port): boolean => p.name === this.name && p.description === createdByDescription(this.cluster);
    return (await this.net.ports.list({ name: this.name })).filter((p) => isOursOrUntaggedOurs(p, clusterTag(this.cluster), identifies));
  }

  async ensurePort(known: BastionKnown, placement: BastionPlacement): Promise<{ port: Port; created: boolean }> {
    const tags = resourceTags(this.cluster, this.specTags);
    const { resource, created } = await findOrCreate<Port>({
      knownId: known.portId,
      get: (id) => this.net.ports.get(id),
      find: () => this.ourPorts(),
      adopt: (p) => ensureTags(this.net, "ports", p, tags),
      create: () =>
        createTagged(this.net, "ports", tags, (inBody) =>
          this.net.ports.create({
            name: this.name,
            description: createdByDescription(this.cluster),
            network_id: placement.networkId,
            fixed_ips: [{ subnet_id: placement.subnetId }],
            security_groups: placement.securityGroupIds,
            ...(inBody ? { tags: inBody } : {}),
          }),
        ),
    });
    return { port: resource, created };
  }

  /**
   * The bastion server: the recorded one, else one bound to our port or named like ours (unrecorded after a crash),
   * else a new one. Returns it (possibly still BUILD) and whether it was created; the caller records the id at once.
   */
  async ensureServer(known: BastionKnown, spec: BastionSpec, port: Port): Promise<{ server: Server; created: boolean }> {
    if (known.serverId) {
      const s = await this.servers.get(known.serverId);
      if (s) return { server: s, created: false };
    }
    const unrecorded = await this.servers.findUnrecorded(this.name, port.id);
    if (unrecorded) return { server: unrecorded, created: false };
    const [flavorID, imageID] = await Promise.all([
      resolveFlavorID(this.nova, spec.flavor).catch(renameField("bastion.spec.flavor")),
      resolveImageID(this.images, spec.image).catch(renameField("bastion.spec.image")),
    ]);
    const id = await this.servers.create({
      name: this.name,
      flavorID,
      imageID,
      portIDs: [port.id],
      ...(spec.sshKeyName ? { sshKeyName: spec.sshKeyName } : {}),
      ...(spec.availabilityZone ? { availabilityZone: spec.availabilityZone } : {}),
    });
    return { server: await this.nova.getServer(id), created: true };
  }

  /** The bastion floating IP on its port (allocated once, re-found by the cluster tag). */
  async ensureFloatingIp(externalNetworkId: string, spec: BastionSpec, port: Port): Promise<{ fip: FloatingIp; created: boolean }> {
    const r = await this.fips.ensure("bastion", externalNetworkId, spec.floatingIP ? { address: spec.floatingIP } : {});
    await this.fips.associate(r.fip, port.id);
    return { fip: r.fip, created: r.created };
  }

  /**
   * Deletes the bastion: server (waiting until Nova no longer has it, so its port is free), floating IP we
   * allocated, port. True when anything existed.
   */
  async delete(known: BastionKnown, wait: { timeoutMs: number; intervalMs: number }): Promise<boolean> {
    let any = false;
    const servers = new Map<string, Server>();
    if (known.serverId) {
      const s = await this.servers.get(known.serverId);
      if (s) servers.set(s.id, s);
    }
    for (const s of await this.servers.listOurs(this.name)) servers.set(s.id, s);
    for (const s of servers.values()) {
      any = (await this.servers.delete(s.id)) || any;
      await this.serverGone(s.id, wait);
    }
    any = (await this.fips.release("bastion")) > 0 || any;
    const tag = clusterTag(this.cluster);
    const ports = new Map<string, Port>();
    if (known.portId) {
      const p = await this.net.ports.get(known.portId).catch((e: unknown) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      });
      if (p?.tags?.includes(tag)) ports.set(p.id, p);
    }
    for (const p of await this.ourPorts()) ports.set(p.id, p);
    for (const p of oldestFirst([...ports.values()])) any = (await deleteIgnoringNotFound(() => this.net.ports.delete(p.id))) || any;
    return any;
  }

  private async serverGone(id: string, wait: { timeoutMs: number; intervalMs: number }): Promise<void> {
    const deadline = Date.now() + wait.timeoutMs;
    for (;;) {
      const s = await this.servers.get(id);
      if (!s || s.status === "DELETED" || s.status === "SOFT_DELETED") return;
      if (Date.now() >= deadline) {
        throw new WaitTimeoutError(`bastion server ${id} is still being deleted`, { status: 0, service: "compute", method: "GET", path: "/servers/{id}" });
      }
      await new Promise((r) => setTimeout(r, wait.intervalMs));
    }
  }
}

/** The compute resolvers name spec.flavor / spec.image; for the bastion the field is bastion.spec.*. */
function renameField(field: string): (e: unknown) => never {
  return (e: unknown) => {
    if (e instanceof TerminalError) throw new TerminalError(e.reason, e.message.replace(/^spec\.(flavor|image)/, field));
    throw e;
  };
}
