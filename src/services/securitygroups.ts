import type { NetworkClient, SecurityGroup, SecurityGroupRule } from "../openstack/index.js";
import { TerminalError } from "./errors.js";
import { deleteIgnoringNotFound, findOrCreate, oldestFirst } from "./find-or-create.js";
import { clusterTag, createdByDescription, resourceTags, securityGroupName, type ClusterIdentity } from "./naming.js";
import { createTagged, ensureTags, isOursOrUntaggedOurs } from "./tagging.js";

export type ManagedRole = "controlplane" | "worker" | "bastion";

/** A rule from spec.managedSecurityGroups (CAPO's SecurityGroupRuleSpec). */
export interface SecurityGroupRuleSpec {
  name: string;
  description?: string;
  direction: "ingress" | "egress";
  etherType?: "IPv4" | "IPv6";
  portRangeMin?: number;
  portRangeMax?: number;
  protocol?: string;
  remoteGroupID?: string;
  remoteIPPrefix?: string;
  remoteManagedGroups?: ManagedRole[];
}

export interface ManagedSecurityGroupsSpec {
  clusterNodesSecurityGroupRules?: SecurityGroupRuleSpec[];
  controlPlaneNodesSecurityGroupRules?: SecurityGroupRuleSpec[];
  workerNodesSecurityGroupRules?: SecurityGroupRuleSpec[];
  allowAllInClusterTraffic?: boolean;
}

/** A rule as we want it in Neutron; remote groups are already ids. */
export interface DesiredRule {
  description: string;
  direction: "ingress" | "egress";
  ethertype: "IPv4" | "IPv6";
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

export interface SecurityGroupRef {
  id: string;
  name: string;
}

export type SecurityGroupIds = Partial<Record<ManagedRole, string>>;

interface RuleTemplate {
  description: string;
  direction?: "ingress" | "egress";
  ethertype?: "IPv4" | "IPv6";
  protocol?: string | null;
  min?: number | null;
  max?: number | null;
  remoteIp?: string;
  remoteGroups?: ManagedRole[];
}

/** The rules capo manages for each role, before the spec's own rules (upstream CAPO's defaults). */
export function defaultRuleTemplates(role: ManagedRole, opts: { apiServerPort: number; withBastion: boolean }): RuleTemplate[] {
  const egress: RuleTemplate[] = [
    { description: "Full open", direction: "egress", ethertype: "IPv4", protocol: null },
    { description: "Full open", direction: "egress", ethertype: "IPv6", protocol: null },
  ];
  const sshFromBastion: RuleTemplate[] = opts.withBastion
    ? [{ description: "SSH from the bastion", protocol: "tcp", min: 22, max: 22, remoteGroups: ["bastion"] }]
    : [];
  const kubelet: RuleTemplate = { description: "Kubelet API", protocol: "tcp", min: 10250, max: 10250, remoteGroups: ["controlplane", "worker"] };
  switch (role) {
    case "controlplane":
      return [
        ...egress,
        { description: "Kubernetes API", protocol: "tcp", min: opts.apiServerPort, max: opts.apiServerPort, remoteIp: "0.0.0.0/0" },
        { description: "Etcd", protocol: "tcp", min: 2379, max: 2380, remoteGroups: ["controlplane"] },
        kubelet,
        ...sshFromBastion,
      ];
    case "worker":
      return [
        ...egress,
        { description: "Node Port Services (TCP)", protocol: "tcp", min: 30000, max: 32767, remoteIp: "0.0.0.0/0" },
        { description: "Node Port Services (UDP)", protocol: "udp", min: 30000, max: 32767, remoteIp: "0.0.0.0/0" },
        kubelet,
        ...sshFromBastion,
      ];
    case "bastion":
      return [...egress, { description: "SSH", protocol: "tcp", min: 22, max: 22, remoteIp: "0.0.0.0/0" }];
  }
}

function fromSpec(r: SecurityGroupRuleSpec): RuleTemplate {
  const t: RuleTemplate = {
    description: r.description ?? r.name,
    direction: r.direction,
    protocol: r.protocol ?? null,
    min: r.portRangeMin ?? null,
    max: r.portRangeMax ?? null,
  };
  if (r.etherType) t.ethertype = r.etherType;
  if (r.remoteIPPrefix) t.remoteIp = r.remoteIPPrefix;
  if (r.remoteManagedGroups?.length) t.remoteGroups = r.remoteManagedGroups;
  return t;
}

/**
 * Every rule role's group must have: capo's defaults, the spec's rules for all nodes and for the role, and
 * with allowAllInClusterTraffic all traffic between cluster nodes. Remote managed groups become rules per group id.
 */
export function desiredRules(
  role: ManagedRole,
  spec: ManagedSecurityGroupsSpec,
  ids: SecurityGroupIds,
  opts: { apiServerPort: number; withBastion: boolean },
): DesiredRule[] {
  const templates = [...defaultRuleTemplates(role, opts)];
  if (role !== "bastion") {
    templates.push(...(spec.clusterNodesSecurityGroupRules ?? []).map(fromSpec));
    const own = role === "controlplane" ? spec.controlPlaneNodesSecurityGroupRules : spec.workerNodesSecurityGroupRules;
    templates.push(...(own ?? []).map(fromSpec));
    if (spec.allowAllInClusterTraffic) {
      for (const ethertype of ["IPv4", "IPv6"] as const) {
        templates.push({ description: "In-cluster ingress", ethertype, protocol: null, remoteGroups: ["controlplane", "worker"] });
      }
    }
  }
  const out = new Map<string, DesiredRule>();
  for (const t of templates) {
    const base = {
      description: t.description,
      direction: t.direction ?? "ingress",
      ethertype: t.ethertype ?? "IPv4",
      protocol: t.protocol ?? null,
      port_range_min: t.min ?? null,
      port_range_max: t.max ?? null,
    };
    if (t.remoteGroups?.length) {
      for (const g of t.remoteGroups) {
        const id = ids[g];
        if (!id) {
          throw new TerminalError(
            "SecurityGroupRuleInvalid",
            `a rule for the ${role} security group ("${t.description}") names remoteManagedGroups ${g}, which this cluster does not have`,
          );
        }
        const r: DesiredRule = { ...base, remote_ip_prefix: null, remote_group_id: id };
        out.set(ruleKey(r), r);
      }
    } else {
      const r: DesiredRule = { ...base, remote_ip_prefix: t.remoteIp ?? null, remote_group_id: null };
      out.set(ruleKey(r), r);
    }
  }
  return [...out.values()];
}

/** Identity of a rule in Neutron: everything but id and description (Neutron refuses duplicates of this). */
export function ruleKey(r: Pick<SecurityGroupRule, "direction" | "ethertype" | "protocol" | "port_range_min" | "port_range_max" | "remote_ip_prefix" | "remote_group_id">): string {
  const proto = r.protocol === undefined || r.protocol === null || r.protocol === "" || r.protocol === "any" ? "" : String(r.protocol).toLowerCase();
  const prefix = r.remote_ip_prefix ?? "";
  // Neutron stores 0.0.0.0/0 (and ::/0) as given, but some versions return null for "any": treat them alike.
  const normPrefix = prefix === "0.0.0.0/0" || prefix === "::/0" ? "" : prefix;
  return [r.direction, r.ethertype ?? "IPv4", proto, r.port_range_min ?? "", r.port_range_max ?? "", normPrefix, r.remote_group_id ?? ""].join("|");
}

/** Ensures the cluster's managed security groups and their rules. */
export class SecurityGroupService {
  constructor(
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
    private readonly specTags: readonly string[] = [],
  ) {}

  /** Tagged, or named and described as we create groups (a crash came between creation and tagging). */
  private ours(g: SecurityGroup, name: string): boolean {
    return isOursOrUntaggedOurs(g, clusterTag(this.cluster), (x) => x.name === name && x.description === createdByDescription(this.cluster));
  }

  /** Finds (by recorded id, then by name + cluster tag or our description) or creates the group for a role; tags it. */
  async ensureGroup(role: ManagedRole, knownId: string | undefined): Promise<{ group: SecurityGroup; created: boolean }> {
    const name = securityGroupName(this.cluster, role);
    const tags = resourceTags(this.cluster, this.specTags);
    const { resource, created } = await findOrCreate<SecurityGroup>({
      knownId,
      get: (id) => this.net.securityGroups.get(id),
      find: async () => (await this.net.securityGroups.list({ name })).filter((g) => this.ours(g, name)),
      adopt: (g) => ensureTags(this.net, "security-groups", g, tags),
      create: () =>
        createTagged(this.net, "security-groups", tags, (inBody) =>
          this.net.securityGroups.create({ name, description: createdByDescription(this.cluster), ...(inBody ? { tags: inBody } : {}) }),
        ),
    });
    return { group: resource, created };
  }

  /**
   * Makes the group's rules exactly `desired`: adds the missing ones, removes the others (a rule the user added by
   * hand to a managed group is removed, as upstream does). Returns how many rules changed.
   */
  async reconcileRules(group: SecurityGroup, desired: DesiredRule[]): Promise<number> {
    const existing = group.security_group_rules ?? (await this.net.securityGroupRules.list({ security_group_id: group.id }));
    const want = new Map(desired.map((r) => [ruleKey(r), r]));
    const have = new Set<string>();
    let changes = 0;
    for (const r of existing) {
      const k = ruleKey(r);
      if (want.has(k) && !have.has(k)) {
        have.add(k);
        continue;
      }
      await deleteIgnoringNotFound(() => this.net.securityGroupRules.delete(r.id));
      changes++;
    }
    for (const [k, r] of want) {
      if (have.has(k)) continue;
      await this.net.securityGroupRules.create({ security_group_id: group.id, ...r });
      changes++;
    }
    return changes;
  }

  /**
   * Deletes the managed groups of the cluster (recorded ids and those found by name + cluster tag), only when they
   * carry our cluster tag. The groups go in any order, rules and all: Neutron deletes a group's rules with it, and
   * the rules of other groups that name it as remote group (a cascade in its database, checked on Zed by the
   * real-OpenStack tier), so removing those rules one by one first only cost a DELETE each.
   */
  async deleteGroups(known: SecurityGroupIds): Promise<number> {
    const tag = clusterTag(this.cluster);
    const groups = new Map<string, SecurityGroup>();
    for (const role of ["bastion", "worker", "controlplane"] as const) {
      const id = known[role];
      if (id) {
        const g = await this.net.securityGroups.get(id).catch((e: unknown) => {
          if ((e as { status?: number }).status === 404) return undefined;
          throw e;
        });
        if (g?.tags?.includes(tag)) groups.set(g.id, g);
      }
      const name = securityGroupName(this.cluster, role);
      for (const g of await this.net.securityGroups.list({ name })) if (this.ours(g, name)) groups.set(g.id, g);
    }
    let deleted = 0;
    for (const g of oldestFirst([...groups.values()])) if (await deleteIgnoringNotFound(() => this.net.securityGroups.delete(g.id))) deleted++;
    return deleted;
  }
}
