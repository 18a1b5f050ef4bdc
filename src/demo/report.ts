import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "../runtime/index.js";
import {
  CONTROL_PLANE_LABEL,
  SIMULATED_ANNOTATION,
  StandInTypes as T,
  type ClusterObject,
  type Condition,
  type MachineObject,
  type OpenStackClusterObject,
  type OpenStackMachineObject,
} from "./capi-types.js";

/** One project's resources as the simulator's admin API /_sim/inventory lists them. */
export interface InventoryProject {
  id: string;
  name: string;
  counts: Record<string, number>;
  resources: Record<string, { id: string; name: string | null; status: string | null }[]>;
}

export async function fetchInventory(adminUrl: string, project: string): Promise<InventoryProject | undefined> {
  const res = await fetch(`${adminUrl}/inventory?project=${encodeURIComponent(project)}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`simulator inventory: HTTP ${res.status}`);
  const body = (await res.json()) as { projects: InventoryProject[] };
  return body.projects[0];
}

export interface ClusterObjects {
  clusters: ClusterObject[];
  openStackClusters: (OpenStackClusterObject & { status?: { network?: { id?: string; name?: string }; apiServerManagedLoadBalancer?: { id?: string; ip?: string } } })[];
  machines: MachineObject[];
  openStackMachines: OpenStackMachineObject[];
}

export async function readClusterObjects(client: KubeClient, namespace: string): Promise<ClusterObjects> {
  const list = async <O extends KubernetesObject>(type: (typeof T)[keyof typeof T]) => (await client.list<O>(type, { namespace })).items;
  const [clusters, openStackClusters, machines, openStackMachines] = await Promise.all([
    list<ClusterObject>(T.cluster),
    list<ClusterObjects["openStackClusters"][number]>(T.openStackCluster),
    list<MachineObject>(T.machine),
    list<OpenStackMachineObject>(T.openStackMachine),
  ]);
  const byName = (a: KubernetesObject, b: KubernetesObject) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
  return {
    clusters: clusters.sort(byName),
    openStackClusters: openStackClusters.sort(byName),
    machines: machines.sort((a, b) => roleOf(a).localeCompare(roleOf(b)) || byName(a, b)),
    openStackMachines: openStackMachines.sort(byName),
  };
}

function roleOf(m: KubernetesObject): string {
  return CONTROL_PLANE_LABEL in (m.metadata?.labels ?? {}) ? "control-plane" : "worker";
}

/** Left-aligned columns separated by two spaces. */
export function table(rows: string[][], indent = "  "): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

function ready(conds: Condition[] | undefined): string {
  const c = conds?.find((x) => x.type === "Ready");
  if (!c) return "-";
  return c.status === "True" ? "True" : `${c.status} (${c.reason ?? ""}${c.message ? `: ${c.message}` : ""})`;
}

function endpoint(ep: { host?: string; port?: number } | undefined): string {
  return ep?.host ? `${ep.host}:${ep.port ?? 6443}` : "-";
}

/** The Cluster API and capo objects of a namespace as text. */
export function renderObjects(o: ClusterObjects): string {
  const out: string[] = [];
  out.push(
    table([
      ["CLUSTER", "PHASE", "INFRASTRUCTURE", "CONTROL PLANE ENDPOINT"],
      ...o.clusters.map((c) => [
        c.metadata?.name ?? "",
        c.status?.phase ?? "-",
        c.status?.initialization?.infrastructureProvisioned ? "provisioned" : "not provisioned",
        endpoint(c.spec?.controlPlaneEndpoint),
      ]),
    ]),
  );
  out.push("");
  out.push(
    table([
      ["OPENSTACKCLUSTER", "PROVISIONED", "READY", "ENDPOINT", "NETWORK", "LOAD BALANCER"],
      ...o.openStackClusters.map((c) => [
        c.metadata?.name ?? "",
        String(c.status?.initialization?.provisioned === true),
        ready(c.status?.conditions),
        endpoint(c.spec?.controlPlaneEndpoint),
        c.status?.network?.name ?? c.status?.network?.id ?? "-",
        c.status?.apiServerManagedLoadBalancer?.id ? `${c.status.apiServerManagedLoadBalancer.ip ?? ""} (${c.status.apiServerManagedLoadBalancer.id})` : "-",
      ]),
    ]),
  );
  out.push("");
  const osmByName = new Map(o.openStackMachines.map((m) => [m.metadata?.name ?? "", m]));
  out.push(
    table([
      ["MACHINE", "ROLE", "PHASE", "PROVIDER ID", "STATE", "ADDRESSES"],
      ...o.machines.map((m) => {
        const osm = osmByName.get(m.spec?.infrastructureRef?.name ?? "");
        const simulated = m.metadata?.annotations?.[SIMULATED_ANNOTATION] ? "*" : "";
        return [
          `${m.metadata?.name ?? ""}${simulated}`,
          roleOf(m),
          m.status?.phase ?? "-",
          osm?.spec?.providerID ?? m.spec?.providerID ?? "-",
          osm?.status?.instanceState ?? "-",
          (osm?.status?.addresses ?? []).map((a) => `${a.type}=${a.address}`).join(" ") || "-",
        ];
      }),
    ]),
  );
  if (o.machines.some((m) => m.metadata?.annotations?.[SIMULATED_ANNOTATION])) {
    out.push("  * Machine created by the simulated CAPI core stand-in (the OpenStackMachine and its server are real capo work)");
  }
  return out.join("\n");
}

const INVENTORY_ORDER: [string, string][] = [
  ["networks", "networks"],
  ["subnets", "subnets"],
  ["routers", "routers"],
  ["security_groups", "security groups"],
  ["security_group_rules", "security group rules"],
  ["floatingips", "floating IPs"],
  ["loadbalancers", "load balancers"],
  ["listeners", "LB listeners"],
  ["pools", "LB pools"],
  ["members", "LB members"],
  ["healthmonitors", "LB health monitors"],
  ["servers", "servers"],
  ["ports", "ports"],
  ["volumes", "volumes"],
  ["server_groups", "server groups"],
];

/** The OpenStack resources of a project, per kind, with names and states (security group rules only counted). */
export function renderInventory(p: InventoryProject): string {
  const out: string[] = [];
  for (const [key, label] of INVENTORY_ORDER) {
    const items = p.resources[key] ?? [];
    if (items.length === 0) continue;
    if (key === "security_group_rules") {
      out.push(`  ${label}: ${items.length}`);
      continue;
    }
    out.push(`  ${label} (${items.length}):`);
    for (const i of items) out.push(`    ${i.name || "(no name)"}  ${i.id}${i.status ? `  ${i.status}` : ""}`);
  }
  return out.length > 0 ? out.join("\n") : "  (none)";
}

/** The workload cluster's Nodes, as its API server (the emulator) reports them. */
export function renderNodes(nodes: { name: string; providerID: string; controlPlane: boolean; ready: boolean }[]): string {
  const sorted = [...nodes].sort((a, b) => Number(b.controlPlane) - Number(a.controlPlane) || a.name.localeCompare(b.name));
  return table([
    ["NODE", "ROLE", "READY", "PROVIDER ID"],
    ...sorted.map((n) => [n.name, n.controlPlane ? "control-plane" : "worker", String(n.ready), n.providerID]),
  ]);
}
