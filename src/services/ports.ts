import type { NetworkClient, Port, Trunk } from "../openstack/index.js";
import type { PortCreate } from "../openstack/network.js";
import { TerminalError } from "./errors.js";
import { describeFilter, toNeutronFilter, type NeutronResourceFilter, type SubnetFilterFields } from "./filters.js";
import { deleteIgnoringNotFound, findOrCreate, oldestFirst } from "./find-or-create.js";
import { clusterTag, createdByDescription, type ClusterIdentity } from "./naming.js";
import { NetworkingService, type IdOrFilter } from "./networking.js";
import { createTagged, ensureTags, isOursOrUntaggedOurs } from "./tagging.js";

/** Port settings that reference nothing in OpenStack: copied as they are from the spec to the resolved port. */
interface PortSettings {
  adminStateUp?: boolean;
  macAddress?: string;
  allowedAddressPairs?: { ipAddress: string; macAddress?: string }[];
  hostID?: string;
  vnicType?: string;
  profile?: { ovsHWOffload?: boolean; trustedVF?: boolean };
  enablePortSecurity?: boolean;
  propagateUplinkStatus?: boolean;
  valueSpecs?: { name: string; key: string; value: string }[];
}

const PORT_SETTINGS: (keyof PortSettings)[] = [
  "adminStateUp",
  "macAddress",
  "allowedAddressPairs",
  "hostID",
  "vnicType",
  "profile",
  "enablePortSecurity",
  "propagateUplinkStatus",
  "valueSpecs",
];

/** A port of the machine spec (upstream PortOpts), as the API types define it. */
export interface PortOptsInput extends PortSettings {
  network?: IdOrFilter<NeutronResourceFilter>;
  description?: string;
  nameSuffix?: string;
  fixedIPs?: { subnet?: IdOrFilter<SubnetFilterFields>; ipAddress?: string }[];
  securityGroups?: IdOrFilter<NeutronResourceFilter>[];
  tags?: string[];
  trunk?: boolean;
}

/** A port with every reference resolved to an id (upstream ResolvedPortSpec); recorded in status.resolved.ports. */
export interface ResolvedPort extends PortSettings {
  name: string;
  description?: string;
  networkID: string;
  tags?: string[];
  trunk?: boolean;
  fixedIPs?: { subnet?: string; ipAddress?: string }[];
  securityGroups?: string[];
}

export interface PortPlanInput {
  machineName: string;
  cluster: ClusterIdentity;
  /** The cluster network (OpenStackCluster status.network.id): the default for ports without a network. */
  clusterNetworkID?: string;
  /** The cluster's primary subnet (status.network.subnets[0]): where a port on the cluster network gets its address. */
  clusterPrimarySubnetID?: string;
  /** The managed security group of the machine's role (control plane or worker), if the cluster has one. */
  managedSecurityGroupID?: string;
  /** spec.securityGroups of the machine: applied to every port that does not list its own. */
  machineSecurityGroups?: IdOrFilter<NeutronResourceFilter>[];
  /** Machine and cluster tags, set on every port in addition to the port's own tags. */
  tags?: string[];
  trunk?: boolean;
  ports?: PortOptsInput[];
}

/** Port names as upstream forms them: <machine>-<nameSuffix or index>. They depend on the spec only. */
export function portNames(machineName: string, ports: readonly PortOptsInput[] | undefined): string[] {
  const list = ports && ports.length > 0 ? ports : [{}];
  return list.map((p: PortOptsInput, i) => `${machineName}-${p.nameSuffix ?? String(i)}`);
}

/** Resolves the spec's ports (one port on the cluster network when none is given) into ResolvedPorts. */
export async function resolvePorts(net: NetworkClient, input: PortPlanInput): Promise<ResolvedPort[]> {
  const networking = new NetworkingService(net, input.cluster);
  const specPorts = input.ports && input.ports.length > 0 ? input.ports : [{}];
  const names = portNames(input.machineName, input.ports);
  const sgCache = new Map<string, string>();
  const resolveSGs = async (params: IdOrFilter<NeutronResourceFilter>[], field: string): Promise<string[]> => {
    const ids: string[] = [];
    for (const [i, p] of params.entries()) ids.push(await resolveSecurityGroupID(net, p, `${field}[${i}]`, sgCache));
    return ids;
  };
  const machineSGs = await resolveSGs(input.machineSecurityGroups ?? [], "spec.securityGroups");
  const out: ResolvedPort[] = [];
  for (const [i, p] of specPorts.entries()) {
    const field = `spec.ports[${i}]`;
    let networkID = input.clusterNetworkID;
    if (p.network) networkID = (await networking.resolveNetwork(p.network, `${field}.network`)).id;
    if (!networkID) {
      throw new TerminalError(
        "InvalidMachineSpec",
        `${field}: no network: the cluster has no network in status and the port names none; set ${field}.network`,
      );
    }
    const fixedIPs: { subnet?: string; ipAddress?: string }[] = [];
    for (const [j, f] of (p.fixedIPs ?? []).entries()) {
      const subnet = f.subnet ? (await networking.resolveSubnet(f.subnet, networkID, `${field}.fixedIPs[${j}].subnet`)).id : undefined;
      fixedIPs.push({ ...(subnet ? { subnet } : {}), ...(f.ipAddress ? { ipAddress: f.ipAddress } : {}) });
    }
    // On a cluster network with several subnets, Neutron would pick one; the cluster's primary subnet is the one.
    if (!p.network && !p.fixedIPs?.length && input.clusterPrimarySubnetID) fixedIPs.push({ subnet: input.clusterPrimarySubnetID });
    let securityGroups: string[] = [];
    if (p.enablePortSecurity !== false) {
      securityGroups = p.securityGroups
        ? await resolveSGs(p.securityGroups, `${field}.securityGroups`)
        : [...machineSGs, ...(input.managedSecurityGroupID ? [input.managedSecurityGroupID] : [])];
    }
    const tags = [...new Set([...(input.tags ?? []), ...(p.tags ?? [])])];
    const trunk = p.trunk ?? input.trunk;
    out.push({
      name: names[i] as string,
      description: p.description ?? createdByDescription(input.cluster),
      networkID,
      ...(tags.length ? { tags } : {}),
      ...(trunk !== undefined ? { trunk } : {}),
      ...(fixedIPs.length ? { fixedIPs } : {}),
      ...(securityGroups.length ? { securityGroups: [...new Set(securityGroups)] } : {}),
      ...pick(p, PORT_SETTINGS),
    });
  }
  return out;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const r: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) r[k] = o[k];
  return r;
}

async function resolveSecurityGroupID(
  net: NetworkClient,
  p: IdOrFilter<NeutronResourceFilter>,
  field: string,
  cache: Map<string, string>,
): Promise<string> {
  if (p.id) return p.id;
  if (!p.filter) throw new TerminalError("SecurityGroupNotFound", `${field}: set id or filter`);
  const key = describeFilter(p.filter);
  const hit = cache.get(key);
  if (hit) return hit;
  const found = await net.securityGroups.list(toNeutronFilter(p.filter));
  if (found.length !== 1) {
    throw new TerminalError(
      found.length ? "SecurityGroupAmbiguous" : "SecurityGroupNotFound",
      `${field}.filter ${key} matched ${found.length} security groups; make it match exactly one`,
    );
  }
  const id = (found[0] as { id: string }).id;
  cache.set(key, id);
  return id;
}

/** The Neutron create body of a resolved port, with our cluster tag so that a crash never duplicates it. */
export function portCreateBody(spec: ResolvedPort, cluster: ClusterIdentity, withTags = true): PortCreate {
  const body: Record<string, unknown> = {
    name: spec.name,
    network_id: spec.networkID,
    ...(withTags ? { tags: portTags(spec, cluster) } : {}),
  };
  if (spec.description !== undefined) body["description"] = spec.description;
  if (spec.fixedIPs?.length) {
    body["fixed_ips"] = spec.fixedIPs.map((f) => ({
      ...(f.subnet ? { subnet_id: f.subnet } : {}),
      ...(f.ipAddress ? { ip_address: f.ipAddress } : {}),
    }));
  }
  if (spec.enablePortSecurity === false) body["port_security_enabled"] = false;
  else {
    if (spec.enablePortSecurity === true) body["port_security_enabled"] = true;
    if (spec.securityGroups?.length) body["security_groups"] = spec.securityGroups;
  }
  if (spec.allowedAddressPairs?.length) {
    body["allowed_address_pairs"] = spec.allowedAddressPairs.map((a) => ({
      ip_address: a.ipAddress,
      ...(a.macAddress ? { mac_address: a.macAddress } : {}),
    }));
  }
  if (spec.vnicType) body["binding:vnic_type"] = spec.vnicType;
  if (spec.hostID) body["binding:host_id"] = spec.hostID;
  if (spec.profile && (spec.profile.ovsHWOffload || spec.profile.trustedVF)) {
    body["binding:profile"] = {
      ...(spec.profile.ovsHWOffload ? { capabilities: ["switchdev"] } : {}),
      ...(spec.profile.trustedVF ? { trusted: true } : {}),
    };
  }
  if (spec.adminStateUp !== undefined) body["admin_state_up"] = spec.adminStateUp;
  if (spec.macAddress) body["mac_address"] = spec.macAddress;
  if (spec.propagateUplinkStatus !== undefined) body["propagate_uplink_status"] = spec.propagateUplinkStatus;
  for (const v of spec.valueSpecs ?? []) body[v.key] = v.value;
  return body as PortCreate;
}

/** The port's own tags, the machine's and our cluster tag. */
export function portTags(spec: ResolvedPort, cluster: ClusterIdentity): string[] {
  return [...new Set([...(spec.tags ?? []), clusterTag(cluster)])];
}

/** The Neutron extension trunks need, and the condition reason when a spec asks for one on a cloud without it. */
export const TRUNK_EXTENSION = "trunk";

/**
 * Refuses a spec that asks for a trunk on a cloud whose Neutron has no trunk extension, before anything is created.
 * The message names the field, the missing extension and the fix.
 */
export async function checkTrunkSupport(net: NetworkClient, ports: readonly ResolvedPort[]): Promise<void> {
  const i = ports.findIndex((p) => p.trunk);
  if (i < 0 || (await net.hasExtension(TRUNK_EXTENSION))) return;
  throw new TerminalError(
    "TrunkNotSupported",
    `ports[${i}] (${ports[i]?.name ?? ""}) asks for a trunk, but this cloud's Neutron has no "${TRUNK_EXTENSION}" extension; ` +
      "set trunk: false (spec.trunk and spec.ports[].trunk) or use a cloud with trunk support",
  );
}

/** Idempotent port operations for one machine. */
export class PortService {
  constructor(
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
  ) {}

  /**
   * Our ports with this name: tagged, or (a crash came between creation and tagging, or Neutron dropped the tags of
   * the POST) with the description we create it with, on its network and not bound to another owner's device.
   */
  private async findByName(name: string, expect?: { networkID: string; description?: string }): Promise<Port[]> {
    const found = await this.net.ports.list({ name, ...(expect ? { network_id: expect.networkID } : {}) });
    const description = expect?.description ?? createdByDescription(this.cluster);
    const identifies = (p: Port): boolean =>
      p.name === name && p.description === description && (!p.device_owner || p.device_owner.startsWith("compute:"));
    return oldestFirst(found.filter((p) => p.name === name && isOursOrUntaggedOurs(p, clusterTag(this.cluster), identifies)));
  }

  /** Our ports with these names, in the order of names (missing ones skipped): rebuilds status after a move. */
  async findByNames(names: readonly string[]): Promise<Port[]> {
    const out: Port[] = [];
    for (const n of names) {
      const p = (await this.findByName(n))[0];
      if (p) out.push(p);
    }
    return out;
  }

  /**
   * The port for spec: by the recorded id, else by name + cluster tag (or, untagged, by name + network +
   * description), else created. `beforeTagging` runs between a create and its tagging.
   */
  async ensure(spec: ResolvedPort, knownID: string | undefined, beforeTagging?: (p: Port) => void): Promise<{ port: Port; created: boolean }> {
    const { resource, created } = await findOrCreate<Port>({
      knownId: knownID,
      get: (id) => this.net.ports.get(id),
      find: () => this.findByName(spec.name, { networkID: spec.networkID, ...(spec.description !== undefined ? { description: spec.description } : {}) }),
      adopt: (p) => ensureTags(this.net, "ports", p, portTags(spec, this.cluster)),
      create: () => createTagged(this.net, "ports", portTags(spec, this.cluster), (tags) => this.net.ports.create(portCreateBody(spec, this.cluster, tags !== undefined)), beforeTagging),
    });
    return { port: resource, created };
  }

  /**
   * The trunk whose parent is port, created (named like the port, with our cluster tag) if missing. Neutron allows
   * one trunk per parent port, so looking it up by port is exact and crash-safe.
   */
  async ensureTrunk(port: Port): Promise<{ trunk: Trunk; created: boolean }> {
    const tags = [clusterTag(this.cluster)];
    const existing = (await this.net.trunks.list({ port_id: port.id })).find((t) => t.port_id === port.id);
    if (existing) return { trunk: await ensureTags(this.net, "trunks", existing, tags), created: false };
    const trunk = await createTagged(this.net, "trunks", tags, (inBody) =>
      this.net.trunks.create({ name: port.name, port_id: port.id, ...(inBody ? { tags: inBody } : {}) }),
    );
    return { trunk, created: true };
  }

  /**
   * Deletes the machine's ports: the recorded ids (only if they still carry our cluster tag) and any port with
   * one of the machine's port names and our cluster tag (created before a crash could record it). Returns the
   * ids deleted.
   */
  async deleteAll(knownIDs: readonly string[], names: readonly string[]): Promise<string[]> {
    const targets = new Map<string, Port>();
    for (const id of knownIDs) {
      try {
        const p = await this.net.ports.get(id);
        if ((p.tags ?? []).includes(clusterTag(this.cluster))) targets.set(p.id, p);
      } catch (e) {
        if ((e as { status?: number }).status !== 404) throw e;
      }
    }
    for (const n of names) for (const p of await this.findByName(n)) targets.set(p.id, p);
    return this.deletePorts([...targets.keys()]);
  }

  /**
   * Deletes our unbound ports on the cluster network: ports a machine created and never got to record or delete
   * (its object gone while a create was in flight, or its finalizer removed by hand), which would otherwise keep
   * the subnet in use for ever. Run when the cluster goes, after its Machines. Returns the ports deleted.
   */
  async deleteLeftovers(networkID: string): Promise<Port[]> {
    const description = createdByDescription(this.cluster);
    const unboundOurs = (p: Port): boolean => !p.device_owner && isOursOrUntaggedOurs(p, clusterTag(this.cluster), (x) => x.description === description);
    const leftovers = (await this.net.ports.list({ network_id: networkID })).filter((p) => p.network_id === networkID && unboundOurs(p));
    const deleted = new Set(await this.deletePorts(leftovers.map((p) => p.id)));
    return leftovers.filter((p) => deleted.has(p.id));
  }

  private async deletePorts(ids: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    // Without the trunk extension there are no trunks, and /trunks is a 404 that must not block the deletion.
    const trunks = ids.length > 0 && (await this.net.hasExtension(TRUNK_EXTENSION));
    for (const id of ids) {
      // A trunk's parent port cannot be deleted before the trunk.
      for (const t of trunks ? await this.net.trunks.list({ port_id: id }) : []) {
        if (t.port_id === id) await deleteIgnoringNotFound(() => this.net.trunks.delete(t.id));
      }
      if (await deleteIgnoringNotFound(() => this.net.ports.delete(id))) deleted.push(id);
    }
    return deleted;
  }
}
