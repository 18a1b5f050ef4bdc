import type { KubernetesObject } from "@kubernetes/client-node";
import { jsonEqual } from "../runtime/merge-patch.js";
import type {
  ClusterObject,
  Condition,
  MachineObject,
  OpenStackClusterObject,
  OpenStackMachineObject,
} from "./capi-types.js";

/**
 * Pure decisions of the CAPI core stand-in (no I/O), so they can be unit tested: which machines to remove on a
 * scale-down, where a control-plane machine goes, what a Machine's and a Cluster's status should say.
 */

/** The bootstrap data a real kubeadm bootstrap provider would render; here a cloud-config that says it is fake. */
export function simulatedCloudInit(machineName: string, clusterName: string, role: "control-plane" | "worker"): string {
  return [
    "#cloud-config",
    "# SIMULATED bootstrap data written by capo's CAPI core stand-in (capo demo / bench), not by Cluster API's",
    "# kubeadm bootstrap provider: this machine never runs kubeadm and never joins a Kubernetes cluster.",
    "write_files:",
    "- path: /etc/capo-simulated",
    "  content: |",
    `    cluster=${clusterName}`,
    `    machine=${machineName}`,
    `    role=${role}`,
    "runcmd:",
    "- echo 'capo simulated bootstrap: nothing to do'",
    "",
  ].join("\n");
}

function created(o: KubernetesObject): number {
  const t = Date.parse(o.metadata?.creationTimestamp?.toString() ?? "");
  return Number.isNaN(t) ? 0 : t;
}

function byAge(a: KubernetesObject, b: KubernetesObject): number {
  return created(a) - created(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
}

/**
 * The `count` machines a scale-down removes. Machines already being deleted count first. Then, like
 * KubeadmControlPlane, the oldest control-plane machines; for a MachineDeployment the newest (a fixed, predictable
 * choice instead of MachineSet's default random one).
 */
export function machinesToDelete<T extends KubernetesObject>(machines: T[], count: number, role: "control-plane" | "worker"): T[] {
  if (count <= 0) return [];
  const deleting = machines.filter((m) => m.metadata?.deletionTimestamp);
  const live = machines.filter((m) => !m.metadata?.deletionTimestamp).sort(byAge);
  if (role === "worker") live.reverse();
  return [...deleting, ...live].slice(0, count).filter((m) => !m.metadata?.deletionTimestamp);
}

/** The control-plane failure domain with the fewest control-plane machines (ties: first listed); none if none. */
export function pickFailureDomain(
  failureDomains: { name: string; controlPlane?: boolean }[] | undefined,
  controlPlaneMachines: MachineObject[],
): string | undefined {
  const eligible = (failureDomains ?? []).filter((f) => f.controlPlane !== false);
  let best: { name: string; used: number } | undefined;
  for (const fd of eligible) {
    const used = controlPlaneMachines.filter((m) => m.spec?.failureDomain === fd.name && !m.metadata?.deletionTimestamp).length;
    if (!best || used < best.used) best = { name: fd.name, used };
  }
  return best?.name;
}

/** Sets a condition; lastTransitionTime changes only when the status does. */
export function withCondition(conditions: Condition[] | undefined, c: Condition, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason ?? (c.status === "True" ? c.type : `Not${c.type}`),
    message: c.message ?? "",
    lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

function readyOf(obj: { status?: { conditions?: Condition[] } } | undefined): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === "Ready");
}

export type MachineStatus = NonNullable<MachineObject["status"]>;

/**
 * What CAPI core would write to a Machine given its OpenStackMachine: providerID (spec), addresses, the
 * infrastructureProvisioned milestone, the InfrastructureReady condition mirrored from the OpenStackMachine's
 * Ready condition, BootstrapConfigReady, and the phase.
 */
export function desiredMachineState(
  machine: MachineObject,
  osm: OpenStackMachineObject | undefined,
  now: string,
): { providerID?: string; status: MachineStatus } {
  const bootstrapReady = !!machine.spec?.bootstrap?.dataSecretName;
  const provisioned = osm?.status?.initialization?.provisioned === true;
  const providerID = osm?.spec?.providerID;
  const infraReady = readyOf(osm);
  let conditions = withCondition(
    machine.status?.conditions,
    {
      type: "BootstrapConfigReady",
      status: bootstrapReady ? "True" : "False",
      reason: bootstrapReady ? "DataSecretAvailable" : "WaitingForControlPlaneInitialized",
      message: bootstrapReady ? "" : "simulated: waiting for the control plane to be initialized",
    },
    now,
  );
  conditions = withCondition(
    conditions,
    infraReady
      ? { type: "InfrastructureReady", status: infraReady.status, reason: infraReady.reason ?? "Ready", message: infraReady.message ?? "" }
      : { type: "InfrastructureReady", status: "Unknown", reason: "InfrastructureMachineNotReported", message: osm ? "" : "OpenStackMachine does not exist yet" },
    now,
  );
  let phase: string;
  if (machine.metadata?.deletionTimestamp) phase = "Deleting";
  else if (provisioned && providerID) phase = "Provisioned";
  else if (bootstrapReady) phase = "Provisioning";
  else phase = "Pending";
  const status: MachineStatus = {
    ...machine.status,
    phase,
    initialization: { ...machine.status?.initialization, bootstrapDataSecretCreated: bootstrapReady, infrastructureProvisioned: provisioned },
    conditions,
  };
  if (osm?.status?.addresses) status.addresses = osm.status.addresses;
  if (machine.spec?.failureDomain) status.failureDomain = machine.spec.failureDomain;
  return { ...(providerID ? { providerID } : {}), status };
}

export type ClusterStatus = NonNullable<ClusterObject["status"]>;

/** What CAPI core would write to a Cluster given its OpenStackCluster and its machines. */
export function desiredClusterStatus(
  cluster: ClusterObject,
  osc: OpenStackClusterObject | undefined,
  machines: { controlPlane: MachineObject[]; workers: MachineObject[]; desiredControlPlane: number; desiredWorkers: number },
  controlPlaneInitialized: boolean,
  now: string,
): ClusterStatus {
  const infraProvisioned = osc?.status?.initialization?.provisioned === true;
  const ready = readyOf(osc);
  const conditions = withCondition(
    cluster.status?.conditions,
    ready
      ? { type: "InfrastructureReady", status: ready.status, reason: ready.reason ?? "Ready", message: ready.message ?? "" }
      : { type: "InfrastructureReady", status: "Unknown", reason: "InfrastructureClusterNotReported", message: osc ? "" : "OpenStackCluster does not exist yet" },
    now,
  );
  const counts = (ms: MachineObject[], desired: number) => ({
    desiredReplicas: desired,
    replicas: ms.length,
    // No workload cluster exists, so "ready" here means what the stand-in can know: infrastructure provisioned.
    readyReplicas: ms.filter((m) => m.status?.initialization?.infrastructureProvisioned).length,
  });
  const status: ClusterStatus = {
    ...cluster.status,
    phase: cluster.metadata?.deletionTimestamp ? "Deleting" : infraProvisioned ? "Provisioned" : "Provisioning",
    initialization: { infrastructureProvisioned: infraProvisioned, controlPlaneInitialized },
    conditions,
    controlPlane: counts(machines.controlPlane, machines.desiredControlPlane),
    workers: counts(machines.workers, machines.desiredWorkers),
  };
  if (osc?.status?.failureDomains && osc.status.failureDomains.length > 0) status.failureDomains = osc.status.failureDomains;
  return status;
}

/** Deep equality for plain JSON values (status comparisons before writing). */
export const sameJson = jsonEqual;
