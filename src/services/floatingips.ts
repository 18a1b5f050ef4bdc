import { NotFoundError, type FloatingIp, type NetworkClient } from "../openstack/index.js";
import { TerminalError } from "./errors.js";
import { deleteIgnoringNotFound, oldestFirst } from "./find-or-create.js";
import { clusterTag, createdByDescription, resourceTags, type ClusterIdentity } from "./naming.js";
import { createTagged, ensureTags } from "./tagging.js";

/** What a floating IP is for; part of its description so the API address and the bastion's are told apart. */
export type FloatingIpPurpose = "api-server" | "bastion";

export interface EnsuredFloatingIp {
  fip: FloatingIp;
  created: boolean;
  /** The recorded floating IP was gone and the same address was allocated again. */
  reallocated: boolean;
}

/** Allocation, re-finding and release of the floating IPs a cluster owns. */
export class FloatingIpService {
  constructor(
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
    private readonly specTags: readonly string[] = [],
  ) {}

  private description(purpose: FloatingIpPurpose): string {
    return `${createdByDescription(this.cluster)}: ${purpose}`;
  }

  /** Ours for this purpose: found by our description, which names the cluster and the purpose; oldest first. */
  async findOurs(purpose: FloatingIpPurpose): Promise<FloatingIp[]> {
    // By description: it names the cluster and the purpose, and an address allocated just before a crash has no tag yet.
    const description = this.description(purpose);
    const found = await this.net.floatingIps.list({ description });
    return oldestFirst(found.filter((f) => f.description === description));
  }

  /** A floating IP we allocated, with our tags set if a crash left it untagged. */
  private adopt(f: FloatingIp): Promise<FloatingIp> {
    return ensureTags(this.net, "floatingips", f, resourceTags(this.cluster, this.specTags));
  }

  /**
   * The cluster's floating IP for `purpose`, allocated once: by the recorded id; else one we allocated earlier
   * (crash before recording); else `address` if the user named one (an existing unassociated one of the project is
   * used as is and stays the user's; otherwise it is allocated with that address); else a new one.
   * If the recorded one is gone (the cloud reclaimed it), the same address is requested again; if the cloud refuses,
   * a TerminalError says so: the control plane endpoint cannot move to a new address.
   */
  async ensure(
    purpose: FloatingIpPurpose,
    externalNetworkId: string,
    opts: { knownId?: string; knownAddress?: string; address?: string },
  ): Promise<EnsuredFloatingIp> {
    if (opts.knownId) {
      try {
        return { fip: await this.net.floatingIps.get(opts.knownId), created: false, reallocated: false };
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
      const ours = await this.findOurs(purpose);
      if (ours[0]) return { fip: await this.adopt(ours[0]), created: false, reallocated: false };
      const address = opts.knownAddress ?? opts.address;
      if (!address) {
        throw new TerminalError("FloatingIPReclaimed", `the ${purpose} floating IP ${opts.knownId} no longer exists and its address is unknown`);
      }
      try {
        const fip = await this.allocate(purpose, externalNetworkId, address);
        return { fip, created: true, reallocated: true };
      } catch (e) {
        if (e instanceof TerminalError) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw new TerminalError(
          "FloatingIPReclaimed",
          `the ${purpose} floating IP ${address} (id ${opts.knownId}) was removed from the cloud and could not be allocated again (${why}); ` +
            `the control plane endpoint uses this address: restore floating IP ${address} in the project, or recreate the cluster`,
        );
      }
    }
    const ours = await this.findOurs(purpose);
    if (ours[0]) return { fip: await this.adopt(ours[0]), created: false, reallocated: false };
    if (opts.address) {
      const existing = await this.net.findFloatingIpByAddress(opts.address);
      if (existing) {
        if (existing.port_id && purpose === "bastion") {
          throw new TerminalError("FloatingIPInUse", `bastion.floatingIP ${opts.address} is already associated with port ${existing.port_id}`);
        }
        return { fip: existing, created: false, reallocated: false };
      }
    }
    return { fip: await this.allocate(purpose, externalNetworkId, opts.address), created: true, reallocated: false };
  }

  private allocate(purpose: FloatingIpPurpose, externalNetworkId: string, address?: string): Promise<FloatingIp> {
    return createTagged(this.net, "floatingips", resourceTags(this.cluster, this.specTags), (tags) =>
      this.net.floatingIps.create({
        floating_network_id: externalNetworkId,
        description: this.description(purpose),
        ...(tags ? { tags } : {}),
        ...(address ? { floating_ip_address: address } : {}),
      }),
    );
  }

  /** Points the floating IP at a port if it is not already. Returns whether it changed anything. */
  async associate(fip: FloatingIp, portId: string): Promise<boolean> {
    if (fip.port_id === portId) return false;
    await this.net.associateFloatingIp(fip.id, portId);
    return true;
  }

  /** Releases the floating IPs we allocated for `purpose` (recorded id and tagged ones); a user's address is kept. */
  async release(purpose: FloatingIpPurpose, knownId?: string): Promise<number> {
    const tag = clusterTag(this.cluster);
    const all = new Map<string, FloatingIp>();
    if (knownId) {
      const f = await this.net.floatingIps.get(knownId).catch((e: unknown) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      });
      if (f?.tags?.includes(tag)) all.set(f.id, f);
    }
    for (const f of await this.findOurs(purpose)) all.set(f.id, f);
    let n = 0;
    for (const f of all.values()) if (await deleteIgnoringNotFound(() => this.net.floatingIps.delete(f.id))) n++;
    return n;
  }
}
