import { randomBytes } from "node:crypto";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { KubeApiError, KubeClient, isAlreadyExists, isConflict, isNotFound, type ResourceType } from "../runtime/index.js";
import { errorMessage } from "../util/errors.js";
import {
  CLUSTER_FINALIZER,
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_LABEL,
  CONTROL_PLANE_NAME_LABEL,
  DEPLOYMENT_NAME_LABEL,
  MACHINE_FINALIZER,
  SIMULATED_ANNOTATION,
  SIMULATED_BY,
  StandInTypes as T,
  isOwnedBy,
  ownerRefTo,
  type ClusterObject,
  type KubeadmControlPlaneObject,
  type MachineDeploymentObject,
  type MachineObject,
  type OpenStackClusterObject,
  type OpenStackMachineObject,
  type OpenStackMachineTemplateObject,
} from "./capi-types.js";
import { desiredClusterStatus, desiredMachineState, machinesToDelete, pickFailureDomain, sameJson, simulatedCloudInit } from "./stand-in-logic.js";

export interface CapiCoreStandInOptions {
  kubeConfig: KubeConfig;
  /** Only act on objects in this namespace (default: all namespaces). */
  namespace?: string;
  /** Pause between passes over the objects (default 500 ms). */
  intervalMs?: number;
  /** One line per action (every line starts with "simulated CAPI core:"). */
  log?: (line: string) => void;
}

/** What the stand-in saw on its last pass, per Cluster; for progress displays and benchmarks. */
export interface StandInClusterView {
  namespace: string;
  name: string;
  infrastructureProvisioned: boolean;
  controlPlaneEndpoint?: string;
  desiredMachines: number;
  machines: number;
  machinesProvisioned: number;
  deleting: boolean;
}

interface Snapshot {
  clusters: ClusterObject[];
  openStackClusters: OpenStackClusterObject[];
  controlPlanes: KubeadmControlPlaneObject[];
  deployments: MachineDeploymentObject[];
  machines: MachineObject[];
  openStackMachines: OpenStackMachineObject[];
  machineTemplates: OpenStackMachineTemplateObject[];
  configTemplates: KubernetesObject[];
  healthChecks: KubernetesObject[];
}

const FIELD_MANAGER = "capo-capi-core-stand-in";
const PREFIX = "simulated CAPI core:";

/**
 * Plays Cluster API core's part (and that of the kubeadm bootstrap and control-plane providers) for clusters whose
 * manifests were applied, WITHOUT the real CAPI managers. `capo demo` and the benchmark run the real managers now
 * (src/demo/real-capi.ts); this stays for tests that need no root or no workload cluster (the seed walkthrough e2e,
 * the real-OpenStack tier, the image and conversion-webhook tests). Each pass it:
 * owns the OpenStackCluster (and the KubeadmControlPlane, MachineDeployments and their templates) by the Cluster;
 * once the infrastructure is provisioned, creates control-plane Machines from the KubeadmControlPlane (the first one,
 * then the rest once the first is provisioned, as kubeadm init-then-join would) and worker Machines from the
 * MachineDeployments, each with an OpenStackMachine cloned from its template and a bootstrap data Secret holding a
 * cloud-config that says it is simulated; mirrors the OpenStack objects' status onto Machines and the Cluster;
 * follows replica changes; and on Cluster deletion removes the machines (waiting for their OpenStackMachines), then
 * the OpenStackCluster, then the owned templates.
 *
 * Every object it creates carries the annotation capo-ts.dev/simulated-by=capi-core-stand-in.
 */
export class CapiCoreStandIn {
  private readonly client: KubeClient;
  private readonly intervalMs: number;
  private readonly log: (line: string) => void;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private views: StandInClusterView[] = [];
  /** Errors already reported, so a persisting one is logged once and not every pass. */
  private readonly reported = new Set<string>();

  constructor(private readonly opts: CapiCoreStandInOptions) {
    this.client = new KubeClient(opts.kubeConfig, { userAgent: "capo-capi-core-stand-in", timeoutMs: 30_000 });
    this.intervalMs = opts.intervalMs ?? 500;
    this.log = opts.log ?? (() => undefined);
  }

  /** Starts the loop (idempotent). */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops after the pass in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.client.close();
  }

  /** The clusters seen on the last pass. */
  clusters(): StandInClusterView[] {
    return this.views;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.syncOnce();
      } catch (e) {
        this.report("pass", `pass failed (will retry): ${errorMessage(e)}`);
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private report(key: string, message: string): void {
    if (this.reported.has(key + message)) return;
    this.reported.add(key + message);
    this.log(`${PREFIX} ${message}`);
  }

  private async list<O extends KubernetesObject>(type: ResourceType): Promise<O[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.client.list<O>(type, { namespace: this.opts.namespace })).items;
      } catch (e) {
        // Right after a CRD is installed the apiserver answers 429 "storage is (re)initializing" for a moment.
        if (attempt >= 20 || !(e instanceof KubeApiError) || e.statusCode !== 429) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** One pass over every Cluster and Machine. Exposed so tests can drive the stand-in step by step. */
  async syncOnce(): Promise<void> {
    const [clusters, openStackClusters, controlPlanes, deployments, machines, openStackMachines, machineTemplates, configTemplates, healthChecks] =
      await Promise.all([
        this.list<ClusterObject>(T.cluster),
        this.list<OpenStackClusterObject>(T.openStackCluster),
        this.list<KubeadmControlPlaneObject>(T.kubeadmControlPlane),
        this.list<MachineDeploymentObject>(T.machineDeployment),
        this.list<MachineObject>(T.machine),
        this.list<OpenStackMachineObject>(T.openStackMachine),
        this.list<OpenStackMachineTemplateObject>(T.openStackMachineTemplate),
        this.list<KubernetesObject>(T.kubeadmConfigTemplate),
        this.list<KubernetesObject>(T.machineHealthCheck),
      ]);
    const snap: Snapshot = {
      clusters,
      openStackClusters,
      controlPlanes,
      deployments,
      machines,
      openStackMachines,
      machineTemplates,
      configTemplates,
      healthChecks,
    };
    const views = await Promise.all(
      clusters.map(async (c) => {
        try {
          return await this.syncCluster(c, snap);
        } catch (e) {
          if (!isConflict(e) && !isNotFound(e)) this.report(`cluster ${keyOf(c)}`, `Cluster ${keyOf(c)}: ${errorMessage(e)}`);
          return undefined;
        }
      }),
    );
    await Promise.all(
      machines
        .filter((m) => m.metadata?.deletionTimestamp && (m.metadata.finalizers ?? []).includes(MACHINE_FINALIZER))
        .map((m) =>
          this.finishMachineDeletion(m, snap).catch((e: unknown) => {
            if (!isConflict(e) && !isNotFound(e)) this.report(`machine ${keyOf(m)}`, `Machine ${keyOf(m)}: ${errorMessage(e)}`);
          }),
        ),
    );
    this.views = views.filter((v): v is StandInClusterView => v !== undefined);
  }

  private async syncCluster(cluster: ClusterObject, snap: Snapshot): Promise<StandInClusterView> {
    const ns = cluster.metadata?.namespace ?? "";
    const name = cluster.metadata?.name ?? "";
    const inNs = <O extends KubernetesObject>(list: O[]) => list.filter((o) => o.metadata?.namespace === ns);
    const osc = inNs(snap.openStackClusters).find(
      (o) => cluster.spec?.infrastructureRef?.kind === "OpenStackCluster" && o.metadata?.name === cluster.spec.infrastructureRef.name,
    );
    const kcp = inNs(snap.controlPlanes).find(
      (o) => cluster.spec?.controlPlaneRef?.kind === "KubeadmControlPlane" && o.metadata?.name === cluster.spec.controlPlaneRef.name,
    );
    const mds = inNs(snap.deployments).filter((d) => d.spec?.clusterName === name);
    const machines = inNs(snap.machines).filter((m) => m.metadata?.labels?.[CLUSTER_NAME_LABEL] === name);
    const controlPlane = machines.filter((m) => CONTROL_PLANE_LABEL in (m.metadata?.labels ?? {}));
    const workers = machines.filter((m) => !(CONTROL_PLANE_LABEL in (m.metadata?.labels ?? {})));
    const osmOf = (m: MachineObject) => inNs(snap.openStackMachines).find((o) => o.metadata?.name === m.spec?.infrastructureRef?.name);
    const desiredControlPlane = kcp?.spec?.replicas ?? (kcp ? 1 : 0);
    const desiredWorkers = mds.reduce((n, d) => n + (d.spec?.replicas ?? 1), 0);
    const deleting = !!cluster.metadata?.deletionTimestamp;
    const view: StandInClusterView = {
      namespace: ns,
      name,
      infrastructureProvisioned: osc?.status?.initialization?.provisioned === true,
      controlPlaneEndpoint: osc?.spec?.controlPlaneEndpoint?.host
        ? `${osc.spec.controlPlaneEndpoint.host}:${osc.spec.controlPlaneEndpoint.port ?? 6443}`
        : undefined,
      desiredMachines: desiredControlPlane + desiredWorkers,
      machines: machines.filter((m) => !m.metadata?.deletionTimestamp).length,
      machinesProvisioned: machines.filter((m) => !m.metadata?.deletionTimestamp && osmOf(m)?.status?.initialization?.provisioned).length,
      deleting,
    };

    if (deleting) {
      await this.deleteCluster(cluster, snap, { osc, kcp, mds, machines });
      return view;
    }
    if (!(cluster.metadata?.finalizers ?? []).includes(CLUSTER_FINALIZER)) {
      await this.mergePatch(T.cluster, cluster, { metadata: { finalizers: [...(cluster.metadata?.finalizers ?? []), CLUSTER_FINALIZER] } });
    }
    if (cluster.spec?.paused) return view;

    // Ownership, as CAPI core and the KCP / MachineSet controllers set it (here also what deletion follows).
    if (osc) await this.adopt(T.openStackCluster, osc, cluster, true);
    if (kcp) await this.adopt(T.kubeadmControlPlane, kcp, cluster, true);
    // CAPI's MachineDeployment webhook labels it with the cluster name (`capo describe cluster` finds it by that label).
    for (const md of mds) await this.adopt(T.machineDeployment, md, cluster, true);
    const templateNames = new Set(
      [kcp?.spec?.machineTemplate?.spec?.infrastructureRef?.name, ...mds.map((d) => d.spec?.template?.spec?.infrastructureRef?.name)].filter(
        (n): n is string => !!n,
      ),
    );
    for (const t of inNs(snap.machineTemplates).filter((t) => templateNames.has(t.metadata?.name ?? ""))) {
      await this.adopt(T.openStackMachineTemplate, t, cluster, false);
    }
    const configNames = new Set(mds.map((d) => d.spec?.template?.spec?.bootstrap?.configRef?.name).filter((n): n is string => !!n));
    for (const t of inNs(snap.configTemplates).filter((t) => configNames.has(t.metadata?.name ?? ""))) {
      await this.adopt(T.kubeadmConfigTemplate, t, cluster, false);
    }
    for (const h of inNs(snap.healthChecks).filter((h) => (h as { spec?: { clusterName?: string } }).spec?.clusterName === name)) {
      await this.adopt(T.machineHealthCheck, h, cluster, false);
    }

    const infraProvisioned = view.infrastructureProvisioned;
    // Without a workload cluster there is no kubeadm init: the control plane counts as initialized once the first
    // control-plane machine's infrastructure is provisioned.
    const controlPlaneInitialized =
      cluster.status?.initialization?.controlPlaneInitialized === true ||
      controlPlane.some((m) => !m.metadata?.deletionTimestamp && osmOf(m)?.status?.initialization?.provisioned === true);

    if (infraProvisioned && osc) {
      const ep = osc.spec?.controlPlaneEndpoint;
      if (ep?.host && (cluster.spec?.controlPlaneEndpoint?.host !== ep.host || cluster.spec.controlPlaneEndpoint.port !== ep.port)) {
        await this.mergePatch(T.cluster, cluster, { spec: { controlPlaneEndpoint: { host: ep.host, port: ep.port ?? 6443 } } });
        this.log(`${PREFIX} Cluster ${ns}/${name}: controlPlaneEndpoint ${ep.host}:${ep.port ?? 6443} (from the OpenStackCluster)`);
      }
      if (kcp) await this.scaleControlPlane(cluster, kcp, controlPlane, controlPlaneInitialized, snap, osc);
      for (const md of mds) {
        const own = workers.filter((m) => m.metadata?.labels?.[DEPLOYMENT_NAME_LABEL] === md.metadata?.name);
        await this.scaleDeployment(cluster, md, own, snap);
      }
    }

    // Existing machines: infrastructure machine, bootstrap data, status mirror.
    const initMachine = [...controlPlane].filter((m) => !m.metadata?.deletionTimestamp).sort(olderFirst)[0];
    for (const m of machines.filter((x) => !x.metadata?.deletionTimestamp)) {
      const isControlPlane = controlPlane.includes(m);
      let osm = osmOf(m);
      if (!osm) osm = await this.createInfraMachine(m, isControlPlane, { kcp, mds }, snap);
      if (!m.spec?.bootstrap?.dataSecretName && (controlPlaneInitialized || m === initMachine)) {
        await this.createBootstrapData(m, isControlPlane);
        continue; // the Machine changed; mirror its status next pass
      }
      await this.mirrorMachine(m, osm);
    }

    const now = new Date().toISOString();
    const status = desiredClusterStatus(
      cluster,
      osc,
      { controlPlane: controlPlane.filter((m) => !m.metadata?.deletionTimestamp), workers: workers.filter((m) => !m.metadata?.deletionTimestamp), desiredControlPlane, desiredWorkers },
      controlPlaneInitialized,
      now,
    );
    if (!sameJson(withoutTimes(status), withoutTimes(cluster.status))) {
      await this.client.patch(T.cluster, name, { status }, "merge", { namespace: ns, subresource: "status", fieldManager: FIELD_MANAGER });
      if (status.initialization?.infrastructureProvisioned && !cluster.status?.initialization?.infrastructureProvisioned) {
        this.log(`${PREFIX} Cluster ${ns}/${name}: infrastructure provisioned`);
      }
      if (status.initialization?.controlPlaneInitialized && !cluster.status?.initialization?.controlPlaneInitialized) {
        this.log(`${PREFIX} Cluster ${ns}/${name}: control plane initialized (simulated: no kubeadm runs)`);
      }
    }
    return view;
  }

  private async scaleControlPlane(
    cluster: ClusterObject,
    kcp: KubeadmControlPlaneObject,
    machines: MachineObject[],
    initialized: boolean,
    snap: Snapshot,
    osc: OpenStackClusterObject,
  ): Promise<void> {
    const desired = kcp.spec?.replicas ?? 1;
    const live = machines.filter((m) => !m.metadata?.deletionTimestamp);
    if (live.length < desired) {
      // kubeadm: one machine runs `kubeadm init`; the others join once it is up.
      const toCreate = live.length === 0 ? 1 : initialized ? desired - live.length : 0;
      const placed = [...live];
      for (let i = 0; i < toCreate; i++) {
        const failureDomain = pickFailureDomain(osc.status?.failureDomains, placed);
        const m = await this.createMachine(cluster, kcp, T.kubeadmControlPlane, {
          controlPlane: true,
          version: kcp.spec?.version,
          failureDomain,
          labels: { [CONTROL_PLANE_NAME_LABEL]: kcp.metadata?.name ?? "" },
        });
        placed.push(m);
        await this.createInfraMachine(m, true, { kcp, mds: [] }, snap);
      }
    } else if (live.length > desired) {
      for (const m of machinesToDelete(live, live.length - desired, "control-plane")) await this.deleteMachine(m, "scale down");
    }
  }

  private async scaleDeployment(cluster: ClusterObject, md: MachineDeploymentObject, machines: MachineObject[], snap: Snapshot): Promise<void> {
    const desired = md.spec?.replicas ?? 1;
    const live = machines.filter((m) => !m.metadata?.deletionTimestamp);
    if (live.length < desired) {
      for (let i = live.length; i < desired; i++) {
        const m = await this.createMachine(cluster, md, T.machineDeployment, {
          controlPlane: false,
          version: md.spec?.template?.spec?.version,
          failureDomain: md.spec?.template?.spec?.failureDomain || undefined,
          labels: { ...md.spec?.template?.metadata?.labels, [DEPLOYMENT_NAME_LABEL]: md.metadata?.name ?? "" },
        });
        await this.createInfraMachine(m, false, { kcp: undefined, mds: [md] }, snap);
      }
    } else if (live.length > desired) {
      for (const m of machinesToDelete(live, live.length - desired, "worker")) await this.deleteMachine(m, "scale down");
    }
  }

  private async createMachine(
    cluster: ClusterObject,
    owner: KubernetesObject,
    ownerType: ResourceType,
    o: { controlPlane: boolean; version?: string; failureDomain?: string; labels: Record<string, string> },
  ): Promise<MachineObject> {
    const ns = cluster.metadata?.namespace ?? "";
    const clusterName = cluster.metadata?.name ?? "";
    const name = `${owner.metadata?.name ?? clusterName}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const machine: MachineObject = {
      apiVersion: `${T.machine.group}/${T.machine.version}`,
      kind: "Machine",
      metadata: {
        name,
        namespace: ns,
        labels: { ...o.labels, [CLUSTER_NAME_LABEL]: clusterName, ...(o.controlPlane ? { [CONTROL_PLANE_LABEL]: "" } : {}) },
        annotations: { [SIMULATED_ANNOTATION]: SIMULATED_BY },
        ownerReferences: [ownerRefTo(owner, ownerType, true)],
        finalizers: [MACHINE_FINALIZER],
      },
      spec: {
        clusterName,
        bootstrap: {},
        infrastructureRef: { apiGroup: T.openStackMachine.group, kind: "OpenStackMachine", name },
        ...(o.version ? { version: o.version } : {}),
        ...(o.failureDomain ? { failureDomain: o.failureDomain } : {}),
      },
    };
    const created = await this.client.create(T.machine, machine, { fieldManager: FIELD_MANAGER });
    this.log(
      `${PREFIX} created ${o.controlPlane ? "control-plane" : "worker"} Machine ${ns}/${name}` +
        (o.failureDomain ? ` in failure domain ${o.failureDomain}` : ""),
    );
    return created;
  }

  /** Clones the Machine's OpenStackMachineTemplate into an OpenStackMachine owned by the Machine. */
  private async createInfraMachine(
    m: MachineObject,
    controlPlane: boolean,
    owners: { kcp: KubeadmControlPlaneObject | undefined; mds: MachineDeploymentObject[] },
    snap: Snapshot,
  ): Promise<OpenStackMachineObject | undefined> {
    const ns = m.metadata?.namespace ?? "";
    const ownerName = m.metadata?.ownerReferences?.[0]?.name;
    const templateName = controlPlane
      ? owners.kcp?.spec?.machineTemplate?.spec?.infrastructureRef?.name
      : owners.mds.find((d) => d.metadata?.name === ownerName || d.metadata?.name === m.metadata?.labels?.[DEPLOYMENT_NAME_LABEL])?.spec
          ?.template?.spec?.infrastructureRef?.name;
    const template = snap.machineTemplates.find((t) => t.metadata?.namespace === ns && t.metadata?.name === templateName);
    if (!template) {
      this.report(`template ${ns}/${m.metadata?.name}`, `Machine ${ns}/${m.metadata?.name}: waiting for OpenStackMachineTemplate ${templateName ?? "(none referenced)"}`);
      return undefined;
    }
    const clusterName = m.spec?.clusterName ?? "";
    const name = m.spec?.infrastructureRef?.name ?? m.metadata?.name ?? "";
    const osm: OpenStackMachineObject = {
      apiVersion: `${T.openStackMachine.group}/${T.openStackMachine.version}`,
      kind: "OpenStackMachine",
      metadata: {
        name,
        namespace: ns,
        labels: {
          ...template.spec?.template?.metadata?.labels,
          [CLUSTER_NAME_LABEL]: clusterName,
          ...(controlPlane ? { [CONTROL_PLANE_LABEL]: "", [CONTROL_PLANE_NAME_LABEL]: m.metadata?.labels?.[CONTROL_PLANE_NAME_LABEL] ?? "" } : {}),
          ...(m.metadata?.labels?.[DEPLOYMENT_NAME_LABEL] ? { [DEPLOYMENT_NAME_LABEL]: m.metadata.labels[DEPLOYMENT_NAME_LABEL] } : {}),
        },
        annotations: {
          ...template.spec?.template?.metadata?.annotations,
          "cluster.x-k8s.io/cloned-from-name": template.metadata?.name ?? "",
          "cluster.x-k8s.io/cloned-from-groupkind": `OpenStackMachineTemplate.${T.openStackMachineTemplate.group}`,
          [SIMULATED_ANNOTATION]: SIMULATED_BY,
        },
        ownerReferences: [ownerRefTo(m, T.machine, true)],
      },
      spec: structuredClone(template.spec?.template?.spec ?? {}),
    };
    try {
      const created = await this.client.create(T.openStackMachine, osm, { fieldManager: FIELD_MANAGER });
      this.log(`${PREFIX} created OpenStackMachine ${ns}/${name} from template ${template.metadata?.name ?? ""}`);
      return created;
    } catch (e) {
      if (isAlreadyExists(e) || isConflict(e)) return undefined; // created by an earlier, interrupted pass
      throw e;
    }
  }

  private async createBootstrapData(m: MachineObject, controlPlane: boolean): Promise<void> {
    const ns = m.metadata?.namespace ?? "";
    const name = `${m.metadata?.name ?? ""}-bootstrap`;
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "cluster.x-k8s.io/secret",
      metadata: {
        name,
        namespace: ns,
        labels: { [CLUSTER_NAME_LABEL]: m.spec?.clusterName ?? "" },
        annotations: { [SIMULATED_ANNOTATION]: SIMULATED_BY },
        ownerReferences: [ownerRefTo(m, T.machine, true)],
      },
      data: {
        value: Buffer.from(simulatedCloudInit(m.metadata?.name ?? "", m.spec?.clusterName ?? "", controlPlane ? "control-plane" : "worker")).toString("base64"),
        format: Buffer.from("cloud-config").toString("base64"),
      },
    };
    try {
      await this.client.create(T.secret, secret as KubernetesObject, { fieldManager: FIELD_MANAGER });
    } catch (e) {
      if (!isAlreadyExists(e) && !isConflict(e)) throw e; // already there from an earlier, interrupted pass
    }
    await this.mergePatch(T.machine, m, { spec: { bootstrap: { dataSecretName: name } } });
    this.log(`${PREFIX} bootstrap data Secret ${ns}/${name} for Machine ${m.metadata?.name ?? ""} (simulated cloud-config)`);
  }

  private async mirrorMachine(m: MachineObject, osm: OpenStackMachineObject | undefined): Promise<void> {
    const ns = m.metadata?.namespace ?? "";
    const name = m.metadata?.name ?? "";
    const { providerID, status } = desiredMachineState(m, osm, new Date().toISOString());
    if (providerID && m.spec?.providerID !== providerID) {
      await this.client.patch(T.machine, name, { spec: { providerID } }, "merge", { namespace: ns, fieldManager: FIELD_MANAGER });
    }
    if (!sameJson(withoutTimes(status), withoutTimes(m.status))) {
      await this.client.patch(T.machine, name, { status }, "merge", { namespace: ns, subresource: "status", fieldManager: FIELD_MANAGER });
      if (status.initialization?.infrastructureProvisioned && !m.status?.initialization?.infrastructureProvisioned) {
        this.log(`${PREFIX} Machine ${ns}/${name}: infrastructure provisioned (${providerID ?? "no providerID"})`);
      }
    }
  }

  private async deleteMachine(m: MachineObject, why: string): Promise<void> {
    await this.deleteIgnoringGone(T.machine, m);
    this.log(`${PREFIX} deleting Machine ${m.metadata?.namespace ?? ""}/${m.metadata?.name ?? ""} (${why})`);
  }

  /** A Machine being deleted: delete its OpenStackMachine, wait until it is gone, then let the Machine go. */
  private async finishMachineDeletion(m: MachineObject, snap: Snapshot): Promise<void> {
    const ns = m.metadata?.namespace ?? "";
    const osm = snap.openStackMachines.find((o) => o.metadata?.namespace === ns && o.metadata?.name === m.spec?.infrastructureRef?.name);
    if (osm) {
      if (!osm.metadata?.deletionTimestamp) {
        await this.deleteIgnoringGone(T.openStackMachine, osm);
        this.log(`${PREFIX} deleting OpenStackMachine ${ns}/${osm.metadata?.name ?? ""}; waiting until it is gone`);
      }
      return;
    }
    try {
      await this.client.delete(T.secret, ns, `${m.metadata?.name ?? ""}-bootstrap`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await this.mergePatch(T.machine, m, { metadata: { finalizers: (m.metadata?.finalizers ?? []).filter((f) => f !== MACHINE_FINALIZER) } });
    this.log(`${PREFIX} Machine ${ns}/${m.metadata?.name ?? ""} deleted`);
  }

  private async deleteCluster(
    cluster: ClusterObject,
    snap: Snapshot,
    o: { osc?: OpenStackClusterObject; kcp?: KubeadmControlPlaneObject; mds: MachineDeploymentObject[]; machines: MachineObject[] },
  ): Promise<void> {
    const ns = cluster.metadata?.namespace ?? "";
    const name = cluster.metadata?.name ?? "";
    if (cluster.status?.phase !== "Deleting") {
      await this.client.patch(T.cluster, name, { status: { phase: "Deleting" } }, "merge", { namespace: ns, subresource: "status" });
      this.log(`${PREFIX} Cluster ${ns}/${name} is being deleted: removing its machines first`);
    }
    // There is no garbage collector (no kube-controller-manager): delete what it would, in CAPI's order.
    if (o.kcp && !o.kcp.metadata?.deletionTimestamp) await this.deleteIgnoringGone(T.kubeadmControlPlane, o.kcp);
    for (const md of o.mds.filter((d) => !d.metadata?.deletionTimestamp)) await this.deleteIgnoringGone(T.machineDeployment, md);
    for (const m of o.machines.filter((x) => !x.metadata?.deletionTimestamp)) await this.deleteMachine(m, "cluster deleted");
    if (o.machines.length > 0) return;
    if (o.osc) {
      if (!o.osc.metadata?.deletionTimestamp) {
        await this.deleteIgnoringGone(T.openStackCluster, o.osc);
        this.log(`${PREFIX} deleting OpenStackCluster ${ns}/${o.osc.metadata?.name ?? ""}; waiting until it is gone`);
      }
      return;
    }
    const owned: [ResourceType, KubernetesObject[]][] = [
      [T.openStackMachineTemplate, snap.machineTemplates],
      [T.kubeadmConfigTemplate, snap.configTemplates],
      [T.machineHealthCheck, snap.healthChecks],
    ];
    for (const [type, list] of owned) {
      for (const obj of list.filter((x) => x.metadata?.namespace === ns && isOwnedBy(x, cluster))) await this.deleteIgnoringGone(type, obj);
    }
    await this.mergePatch(T.cluster, cluster, { metadata: { finalizers: (cluster.metadata?.finalizers ?? []).filter((f) => f !== CLUSTER_FINALIZER) } });
    this.log(`${PREFIX} Cluster ${ns}/${name} deleted`);
  }

  /** Adds an owner reference to the Cluster (and, with `label`, the cluster-name label CAPI core or its webhooks set). */
  private async adopt(type: ResourceType, obj: KubernetesObject, cluster: ClusterObject, label: boolean): Promise<void> {
    const clusterName = cluster.metadata?.name ?? "";
    const needsOwner = !isOwnedBy(obj, cluster);
    const needsLabel = label && obj.metadata?.labels?.[CLUSTER_NAME_LABEL] !== clusterName;
    if (!needsOwner && !needsLabel) return;
    const metadata: Record<string, unknown> = {};
    if (needsOwner) metadata["ownerReferences"] = [...(obj.metadata?.ownerReferences ?? []), ownerRefTo(cluster, T.cluster, false)];
    if (needsLabel) metadata["labels"] = { [CLUSTER_NAME_LABEL]: clusterName };
    await this.mergePatch(type, obj, { metadata });
    if (needsOwner) this.log(`${PREFIX} ${type.kind} ${keyOf(obj)} is now owned by Cluster ${clusterName}`);
  }

  /** A merge patch guarded by the object's resourceVersion, so a concurrent change makes it fail (and retry next pass). */
  private async mergePatch(type: ResourceType, obj: KubernetesObject, patch: { metadata?: Record<string, unknown>; spec?: unknown }): Promise<void> {
    const body = { ...patch, metadata: { ...patch.metadata, resourceVersion: obj.metadata?.resourceVersion } };
    const updated = await this.client.patch<KubernetesObject>(type, obj.metadata?.name ?? "", body, "merge", {
      namespace: obj.metadata?.namespace,
      fieldManager: FIELD_MANAGER,
    });
    // Later patches in the same pass build on this one.
    if (obj.metadata && updated.metadata?.resourceVersion) obj.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  private async deleteIgnoringGone(type: ResourceType, obj: KubernetesObject): Promise<void> {
    try {
      await this.client.delete(type, obj.metadata?.namespace, obj.metadata?.name ?? "", { propagationPolicy: "Background" });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

function olderFirst(a: KubernetesObject, b: KubernetesObject): number {
  const t = (o: KubernetesObject) => Date.parse(o.metadata?.creationTimestamp?.toString() ?? "") || 0;
  return t(a) - t(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
}

/** Status without condition timestamps: a changed timestamp alone is no reason to write. */
function withoutTimes(status: unknown): unknown {
  if (!status || typeof status !== "object") return status;
  const s = status as { conditions?: { lastTransitionTime?: string }[] };
  return { ...s, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) };
}
