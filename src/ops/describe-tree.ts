/** A Kubernetes object as the API returns it; fields are read defensively because any may be missing. */
export interface AnyObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** The objects of one cluster, as collected from the API (see collectCluster). */
export interface ClusterSnapshot {
  cluster: AnyObject;
  controlPlane?: AnyObject;
  infraCluster?: AnyObject;
  machineDeployments: AnyObject[];
  machines: AnyObject[];
  /** OpenStackMachines by name. */
  infraMachines: Record<string, AnyObject>;
}

export interface ConditionView {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** One object in the tree: what it is, its state in a few key/value pairs, its conditions and its children. */
export interface TreeNode {
  kind: string;
  name: string;
  /** Short state shown next to the name, e.g. "Running" or "3/3 ready". */
  summary?: string;
  /** Key facts, in display order: [label, value]. */
  facts: [string, string][];
  conditions: ConditionView[];
  children: TreeNode[];
}

type Rec = Record<string, unknown>;

function at(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Rec)[k];
  }
  return cur;
}
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined);
const list = (v: unknown): Rec[] => (Array.isArray(v) ? (v.filter((x) => x && typeof x === "object") as Rec[]) : []);
const nameOf = (o: AnyObject): string => o.metadata?.name ?? "?";
const byName = (a: AnyObject, b: AnyObject): number => nameOf(a).localeCompare(nameOf(b));

/** Conditions with Ready first, then by type; only those with a type and a status. */
export function conditionsOf(o: AnyObject | undefined): ConditionView[] {
  const out: ConditionView[] = [];
  for (const c of list(o?.status?.["conditions"])) {
    const type = str(c["type"]);
    const status = str(c["status"]);
    if (!type || !status) continue;
    const v: ConditionView = { type, status };
    const reason = str(c["reason"]);
    const message = str(c["message"]);
    if (reason) v.reason = reason;
    if (message) v.message = message;
    out.push(v);
  }
  return out.sort((a, b) => (a.type === "Ready" ? -1 : b.type === "Ready" ? 1 : a.type.localeCompare(b.type)));
}

function push(facts: [string, string][], label: string, value: string | undefined): void {
  if (value !== undefined && value !== "") facts.push([label, value]);
}

/** "name (id)" for a status reference with a name and an id. */
function ref(o: unknown): string | undefined {
  const id = str(at(o, "id"));
  if (!id) return undefined;
  const name = str(at(o, "name"));
  return name ? `${name} (${id})` : id;
}

function replicas(o: AnyObject): string | undefined {
  const desired = str(o.spec?.["replicas"]);
  if (desired === undefined) return undefined;
  const ready = str(o.status?.["readyReplicas"]) ?? "0";
  const available = str(o.status?.["availableReplicas"]);
  const upToDate = str(o.status?.["upToDateReplicas"]);
  return `${ready}/${desired} ready` + (available !== undefined ? `, ${available} available` : "") + (upToDate !== undefined ? `, ${upToDate} up to date` : "");
}

function clusterNode(s: ClusterSnapshot): TreeNode {
  const c = s.cluster;
  const facts: [string, string][] = [];
  const host = str(at(c.spec, "controlPlaneEndpoint.host"));
  const port = str(at(c.spec, "controlPlaneEndpoint.port"));
  push(facts, "endpoint", host ? `${host}:${port ?? "6443"}` : undefined);
  if (at(c.spec, "paused") === true) push(facts, "paused", "true");
  if (c.metadata?.deletionTimestamp) push(facts, "deleting since", c.metadata.deletionTimestamp);
  return { kind: "Cluster", name: nameOf(c), summary: str(c.status?.["phase"]), facts, conditions: conditionsOf(c), children: [] };
}

function infraClusterNode(o: AnyObject): TreeNode {
  const st = o.status ?? {};
  const facts: [string, string][] = [];
  push(facts, "provisioned", str(at(st, "initialization.provisioned")));
  push(facts, "external network", ref(st["externalNetwork"]));
  push(facts, "network", ref(st["network"]));
  for (const sn of list(at(st, "network.subnets"))) {
    push(facts, "subnet", [ref(sn), str(sn["cidr"])].filter(Boolean).join(" "));
  }
  const router = st["router"];
  const routerIps = (at(router, "ips") as string[] | undefined)?.join(", ");
  push(facts, "router", ref(router) ? `${ref(router)}${routerIps ? ` external ${routerIps}` : ""}` : undefined);
  for (const [label, key] of [
    ["security group (control plane)", "controlPlaneSecurityGroup"],
    ["security group (worker)", "workerSecurityGroup"],
    ["security group (bastion)", "bastionSecurityGroup"],
  ] as const) {
    push(facts, label, ref(st[key]));
  }
  const lb = st["apiServerManagedLoadBalancer"];
  if (ref(lb)) {
    const ips = [str(at(lb, "ip")), str(at(lb, "internalIP")) ? `internal ${str(at(lb, "internalIP"))}` : undefined].filter(Boolean).join(", ");
    push(facts, "load balancer", `${ref(lb)}${ips ? ` ${ips}` : ""}`);
  }
  const fip = st["apiServerFloatingIP"];
  if (str(at(fip, "ip"))) push(facts, "API floating IP", `${str(at(fip, "ip"))} (${str(at(fip, "id")) ?? "?"})`);
  const fds = list(st["failureDomains"]).map((f) => `${str(f["name"]) ?? "?"}${f["controlPlane"] === true ? " (control plane)" : ""}`);
  push(facts, "failure domains", fds.join(", ") || undefined);
  const bastion = st["bastion"];
  if (str(at(bastion, "id"))) {
    push(facts, "bastion", [ref(bastion), str(at(bastion, "state")), str(at(bastion, "floatingIP")) ?? str(at(bastion, "ip"))].filter(Boolean).join(" "));
  }
  return { kind: o.kind ?? "OpenStackCluster", name: nameOf(o), facts, conditions: conditionsOf(o), children: [] };
}

function infraMachineNode(o: AnyObject): TreeNode {
  const st = o.status ?? {};
  const facts: [string, string][] = [];
  const id = str(st["instanceID"]);
  const state = str(st["instanceState"]);
  push(facts, "server", id ? `${id}${state ? ` ${state}` : ""}` : undefined);
  const addrs = list(st["addresses"]).map((a) => `${str(a["type"]) ?? "?"} ${str(a["address"]) ?? "?"}`);
  push(facts, "addresses", addrs.join(", ") || undefined);
  push(facts, "flavor", str(at(st, "resolved.flavorID")));
  push(facts, "image", str(at(st, "resolved.imageID")));
  const ports = list(at(st, "resources.ports")).map((p) => str(p["id"]) ?? "?");
  push(facts, "ports", ports.join(", ") || undefined);
  push(facts, "provider ID", str(o.spec?.["providerID"]));
  push(facts, "failure", [str(st["failureReason"]), str(st["failureMessage"])].filter(Boolean).join(": ") || undefined);
  return { kind: o.kind ?? "OpenStackMachine", name: nameOf(o), summary: state, facts, conditions: conditionsOf(o), children: [] };
}

function machineNode(m: AnyObject, s: ClusterSnapshot): TreeNode {
  const facts: [string, string][] = [];
  push(facts, "version", str(m.spec?.["version"]));
  push(facts, "failure domain", str(m.spec?.["failureDomain"]));
  push(facts, "node", str(at(m.status, "nodeRef.name")));
  push(facts, "provider ID", str(m.spec?.["providerID"]));
  if (m.metadata?.deletionTimestamp) push(facts, "deleting since", m.metadata.deletionTimestamp);
  const children: TreeNode[] = [];
  const infraName = str(at(m.spec, "infrastructureRef.name"));
  const infra = infraName ? s.infraMachines[infraName] : undefined;
  if (infra) children.push(infraMachineNode(infra));
  else if (infraName) children.push({ kind: str(at(m.spec, "infrastructureRef.kind")) ?? "OpenStackMachine", name: infraName, summary: "not found", facts: [], conditions: [], children: [] });
  return { kind: "Machine", name: nameOf(m), summary: str(m.status?.["phase"]), facts, conditions: conditionsOf(m), children };
}

/** A node for an object the Cluster refers to but that does not exist (yet), so the gap is visible. */
function missingRef(ref: unknown): TreeNode[] {
  const kind = str(at(ref, "kind"));
  const name = str(at(ref, "name"));
  return kind && name ? [{ kind, name, summary: "not found", facts: [], conditions: [], children: [] }] : [];
}

const isControlPlaneMachine = (m: AnyObject): boolean => m.metadata?.labels?.["cluster.x-k8s.io/control-plane"] !== undefined;

/** The tree of one cluster: Cluster -> OpenStackCluster, control plane -> Machines, MachineDeployments -> Machines. */
export function buildClusterTree(s: ClusterSnapshot): TreeNode {
  const root = clusterNode(s);
  if (s.infraCluster) root.children.push(infraClusterNode(s.infraCluster));
  else root.children.push(...missingRef(s.cluster.spec?.["infrastructureRef"]));
  const machines = [...s.machines].sort(byName);
  const placed = new Set<AnyObject>();

  if (!s.controlPlane) root.children.push(...missingRef(s.cluster.spec?.["controlPlaneRef"]));
  else {
    const cp = s.controlPlane;
    const facts: [string, string][] = [];
    push(facts, "version", str(cp.spec?.["version"]));
    push(facts, "initialized", str(at(cp.status, "initialization.controlPlaneInitialized")));
    const node: TreeNode = { kind: cp.kind ?? "KubeadmControlPlane", name: nameOf(cp), summary: replicas(cp), facts, conditions: conditionsOf(cp), children: [] };
    for (const m of machines.filter(isControlPlaneMachine)) {
      node.children.push(machineNode(m, s));
      placed.add(m);
    }
    root.children.push(node);
  }
  for (const md of [...s.machineDeployments].sort(byName)) {
    const facts: [string, string][] = [];
    push(facts, "version", str(at(md.spec, "template.spec.version")));
    const node: TreeNode = { kind: "MachineDeployment", name: nameOf(md), summary: replicas(md) ?? str(md.status?.["phase"]), facts, conditions: conditionsOf(md), children: [] };
    for (const m of machines) {
      if (!placed.has(m) && m.metadata?.labels?.["cluster.x-k8s.io/deployment-name"] === nameOf(md)) {
        node.children.push(machineNode(m, s));
        placed.add(m);
      }
    }
    root.children.push(node);
  }
  // Machines owned by nothing shown above (e.g. created by hand) still belong in the picture.
  for (const m of machines) if (!placed.has(m)) root.children.push(machineNode(m, s));
  return root;
}

/** One condition as `✓ Type=Status reason: message` (✗ for False, ? for Unknown). */
export function conditionLine(c: ConditionView): string {
  const mark = c.status === "True" ? "✓" : c.status === "False" ? "✗" : "?";
  const tail = [c.reason, c.message].filter(Boolean).join(": ");
  return `${mark} ${c.type}=${c.status}${tail ? ` ${tail}` : ""}`;
}

/** Plain-text rendering of the tree: box-drawing branches, facts and conditions under each object. */
export function renderTree(root: TreeNode): string {
  const lines: string[] = [];
  const walk = (node: TreeNode, prefix: string, branch: string, childPrefix: string): void => {
    lines.push(`${prefix}${branch}${node.kind} ${node.name}${node.summary ? `  [${node.summary}]` : ""}`);
    const inner = prefix + childPrefix + (node.children.length > 0 ? "│ " : "  ");
    const width = Math.max(0, ...node.facts.map(([k]) => k.length));
    for (const [k, v] of node.facts) lines.push(`${inner} ${k.padEnd(width)}  ${v}`);
    for (const c of node.conditions) lines.push(`${inner} ${conditionLine(c)}`);
    node.children.forEach((child, i) => {
      const last = i === node.children.length - 1;
      walk(child, prefix + childPrefix, last ? "└─ " : "├─ ", last ? "   " : "│  ");
    });
  };
  walk(root, "", "", "");
  return `${lines.join("\n")}\n`;
}
