import type { KubernetesObject } from "@kubernetes/client-node";
import { compute, image, loadBalancer, network, type Network, type NetworkClient, type OpenStackSession, type Subnet } from "../../openstack/index.js";
import {
  CapiTypes,
  CLUSTER_NAME_LABEL,
  CoreTypes,
  addFinalizer,
  hasFinalizer,
  isNotFound,
  removeFinalizer,
  updateStatus,
  updateWithRetry,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import { cachedLookup } from "../../openstack/lookup-cache.js";
import { BastionService, type BastionSpec } from "../../services/bastion.js";
import { TerminalError } from "../../services/errors.js";
import { FloatingIpService } from "../../services/floatingips.js";
import { LoadBalancerService, type LoadBalancerSpec, type WaitOptions } from "../../services/loadbalancer.js";
import { NetworkingService } from "../../services/networking.js";
import { PortService } from "../../services/ports.js";
import type { ClusterIdentity } from "../../services/naming.js";
import { SecurityGroupService, desiredRules, type ManagedSecurityGroupsSpec, type SecurityGroupIds } from "../../services/securitygroups.js";
import { failureDomainsFrom } from "../../services/failuredomains.js";
import { UserError } from "../../util/errors.js";
import { CREDENTIALS_INVALID, CredentialsInvalidError } from "../credentials-gate.js";
import { openStackSessionFor } from "../credentials.js";
import { protectCredentials } from "../credentials-finalizer.js";
import { fingerprintOf, SteadyStateMemo, DEFAULT_VERIFY_EVERY_MS } from "../steady-state.js";
import { DeferredStatus, endingWithFlush } from "../deferred-status.js";
import { classify } from "./classify.js";
import { setCondition, type ConditionInput } from "../conditions.js";
import { BASTION_BUILDING, markProvisioned, readyCondition } from "./readiness.js";
import {
  CAPI_GROUP,
  CLUSTER_FINALIZER,
  Conditions,
  MANAGED_BY_LABEL,
  OpenStackClusterType,
  PAUSED_ANNOTATION,
  type CapiCluster,
  type ClusterStatus,
  type OpenStackClusterObject,
} from "./types.js";

export interface ClusterReconcilerOptions {
  /** Waits for Octavia to settle inside one reconcile. */
  loadBalancerWait: WaitOptions;
  /**
   * The one slow retry after a terminal error, for clouds that heal (a raised quota); the user's fix (a change of
   * spec or of the identity Secret) wakes the object at once anyway.
   */
  terminalRequeueMs: number;
  /** Requeue while waiting for the cluster's Machines to go before deleting. */
  machinesGoneRequeueMs: number;
  /** Requeue while the bastion server builds. */
  bastionRequeueMs: number;
  userAgent: string;
  /** Which clusters were verified in OpenStack, under which inputs (see SteadyStateMemo); shared by all passes. */
  memo: SteadyStateMemo;
}

export const defaultClusterReconcilerOptions: ClusterReconcilerOptions = {
  loadBalancerWait: { timeoutMs: 60_000, intervalMs: 2_000 },
  terminalRequeueMs: 600_000,
  machinesGoneRequeueMs: 5_000,
  bastionRequeueMs: 10_000,
  userAgent: "capo-ts/openstackcluster",
  memo: new SteadyStateMemo(DEFAULT_VERIFY_EVERY_MS),
};

const DEFAULT_API_PORT = 6443;


/** The bastion.spec fields the bastion honours (identityRef is the cluster's anyway). */
const BASTION_SPEC_FIELDS = new Set(["flavor", "image", "sshKeyName", "identityRef"]);
/** A step failed in a way already written to status; the reconcile ends with this result. */
class StepStopped extends Error {
  constructor(readonly result: ReconcileResult) {
    super("step stopped");
  }
}

/** One pass over one OpenStackCluster: owner/paused checks, finalizer, then normal or delete reconcile. */
export class ClusterReconciler {
  private obj: OpenStackClusterObject;
  private readonly ctx: ReconcileContext;
  private readonly opts: ClusterReconcilerOptions;
  private readonly deferred = new DeferredStatus<ClusterStatus>();

  constructor(obj: OpenStackClusterObject, ctx: ReconcileContext, opts: ClusterReconcilerOptions) {
    this.obj = obj;
    this.ctx = ctx;
    this.opts = opts;
  }

  private get ns(): string {
    return this.obj.metadata?.namespace ?? "default";
  }

  private get identity(): ClusterIdentity {
    return { namespace: this.ns, name: this.obj.metadata?.name ?? "" };
  }

  private get status(): ClusterStatus {
    return this.obj.status ?? {};
  }

  run(): Promise<ReconcileResult> {
    return endingWithFlush(() => this.flushStatus(), this.ctx.log, () => this.pass());
  }

  private async pass(): Promise<ReconcileResult> {
    const ownerName = this.ownerClusterName();
    // Being deleted without our finalizer: nothing of ours is left to clean up (and the object is about to go).
    if (this.obj.metadata?.deletionTimestamp && !hasFinalizer(this.obj, CLUSTER_FINALIZER)) return;
    if (this.obj.metadata?.labels?.[MANAGED_BY_LABEL] !== undefined) {
      this.ctx.log.debug("externally managed (cluster.x-k8s.io/managed-by): skipped");
      return;
    }
    if (!ownerName && !this.obj.metadata?.deletionTimestamp) {
      this.ctx.log.debug("waiting for a Cluster to own this object");
      return;
    }
    const cluster = ownerName ? await this.getCluster(ownerName) : undefined;
    if (cluster?.metadata?.labels?.[MANAGED_BY_LABEL] !== undefined) return;
    const paused = cluster?.spec?.paused === true || this.isPausedAnnotated(cluster);
    this.deferStatus((s) => {
      this.condition(s, {
        type: Conditions.paused,
        status: paused ? "True" : "False",
        reason: paused ? "Paused" : "NotPaused",
        message: paused ? "the Cluster or this object is paused; nothing is reconciled" : "",
      });
    });
    if (paused) return;
    try {
      if (this.obj.metadata?.deletionTimestamp) return await this.reconcileDelete(ownerName);
      if (!cluster) return { requeueAfterMs: 1_000 };
      if (!hasFinalizer(this.obj, CLUSTER_FINALIZER)) {
        this.obj = await addFinalizer(this.ctx.client, OpenStackClusterType, this.obj, CLUSTER_FINALIZER);
      }
      // After our own finalizer: the Secret is then kept until this object no longer needs it.
      await protectCredentials(this.ctx, this.ns, this.obj.spec.identityRef.name);
      return await this.reconcileNormalUnlessVerified();
    } catch (e) {
      if (e instanceof StepStopped) return e.result;
      throw e;
    }
  }

  // ---- owner, paused ----

  private ownerClusterName(): string | undefined {
    const ref = (this.obj.metadata?.ownerReferences ?? []).find((o) => o.kind === "Cluster" && o.apiVersion.split("/")[0] === CAPI_GROUP);
    return ref?.name;
  }

  private async getCluster(name: string): Promise<CapiCluster | undefined> {
    const cached = this.ctx.cache.get<CapiCluster>(CapiTypes.cluster, `${this.ns}/${name}`);
    if (cached) return cached;
    try {
      return await this.ctx.client.get<CapiCluster>(CapiTypes.cluster, this.ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private isPausedAnnotated(cluster: CapiCluster | undefined): boolean {
    return PAUSED_ANNOTATION in (this.obj.metadata?.annotations ?? {}) || PAUSED_ANNOTATION in (cluster?.metadata?.annotations ?? {});
  }

  // ---- status helpers ----

  private condition(s: ClusterStatus, c: ConditionInput): void {
    s.conditions ??= [];
    setCondition(s.conditions, c, this.obj.metadata?.generation);
  }

  /**
   * Writes status through the status subresource (no request when nothing changed) and keeps the stored object,
   * with the deferred changes first. The cluster's resources are all found again by name and tag after a crash
   * (find-or-create), so their ids are deferred too: a first pass writes status before it sets the endpoint and
   * when it ends, instead of once per resource. Slow resources (load balancer, bastion) are written at once.
   */
  private async patchStatus(mutate?: (s: ClusterStatus) => void): Promise<void> {
    const changes = this.deferred.take(mutate);
    if (changes.length === 0) return;
    this.obj = await updateStatus(this.ctx.client, OpenStackClusterType, this.obj, (d) => {
      d.status ??= {};
      for (const change of changes) change(d.status);
    });
  }

  /** A status change that need not be stored before the pass goes on (see patchStatus). */
  private deferStatus(mutate: (s: ClusterStatus) => void): void {
    this.deferred.defer(mutate);
  }

  private flushStatus(): Promise<void> {
    return this.patchStatus();
  }

  private async event(type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    await this.ctx.events.event(this.obj as KubernetesObject, type, reason, message);
  }

  /**
   * Runs one step: on success sets its condition True; on failure records the condition (terminal: False with a
   * message the user can act on, and Ready False; retryable: False with the OpenStack message) and stops the pass.
   */
  private async step<T>(conditionType: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const c = classify(e);
      const prev = this.status.conditions?.find((x) => x.type === conditionType);
      await this.patchStatus((s) => {
        this.condition(s, { type: conditionType, status: "False", reason: c.reason, message: c.message });
        if (conditionType !== Conditions.ready) {
          this.condition(s, { type: Conditions.ready, status: "False", reason: c.reason, message: `${conditionType}: ${c.message}` });
        }
      });
      this.ctx.log.warn({ step: conditionType, reason: c.reason, kind: c.kind, errMessage: c.message }, "reconcile step failed");
      if (c.kind === "terminal") {
        if (prev?.reason !== c.reason || prev.message !== c.message) await this.event("Warning", c.reason, c.message);
        throw new StepStopped({ requeueAfterMs: this.opts.terminalRequeueMs });
      }
      throw e;
    }
  }

  private stepDone(type: string, reason: string, message = ""): void {
    this.deferStatus((s) => this.condition(s, { type, status: "True", reason, message }));
  }

  private async session(): Promise<OpenStackSession> {
    const ref = this.obj.spec.identityRef;
    return openStackSessionFor(
      this.ctx,
      this.ns,
      { name: ref.name, cloudName: ref.cloudName, ...(ref.region ? { region: ref.region } : {}) },
      { onRequest: this.ctx.openStackOnRequest, userAgent: this.opts.userAgent },
    );
  }

  // ---- normal reconcile ----

  /**
   * A provisioned cluster whose inputs did not change since a full pass verified it (within the memo's TTL) needs
   * no OpenStack request: that pass already found every resource as wanted. Anything else runs the full pass.
   */
  private async reconcileNormalUnlessVerified(): Promise<ReconcileResult> {
    const { memo } = this.opts;
    const fingerprint = this.fingerprint();
    if (!this.ctx.periodicCheck && this.isSteady() && memo.isVerified(this.obj, fingerprint)) {
      this.ctx.log.debug("verified recently with the same inputs: no OpenStack request");
      return;
    }
    memo.forget(this.obj);
    const result = await this.reconcileNormal();
    if (!result && this.isSteady()) memo.record(this.obj, this.fingerprint());
    return result;
  }

  /** Everything a normal pass reads from Kubernetes besides status: our spec and the credentials. */
  private fingerprint(): string {
    let secretVersion: string | undefined;
    try {
      secretVersion = this.ctx.cache.get(CoreTypes.secret, `${this.ns}/${this.obj.spec.identityRef.name}`)?.metadata?.resourceVersion;
    } catch {
      // No Secret informer (a controller set up without one): the TTL alone bounds how long a change goes unseen.
    }
    return fingerprintOf([this.obj.metadata?.generation, secretVersion]);
  }

  private isSteady(): boolean {
    const ready = this.status.conditions?.find((c) => c.type === Conditions.ready);
    return this.status.initialization?.provisioned === true && ready?.status === "True";
  }

  private async reconcileNormal(): Promise<ReconcileResult> {
    const spec = this.obj.spec;
    const session = await this.step(Conditions.ready, () => this.session());
    const net = network(session);
    const tags = spec.tags ?? [];
    const networking = new NetworkingService(net, this.identity, tags);
    // Checked before anything is created, so a cloud without Octavia gets a condition and no half-built cluster.
    await this.step(Conditions.apiEndpoint, () => this.requireLoadBalancerService(session));

    // 1. external network
    const enabled = spec.enableExternalNetwork !== false;
    const external = await this.step(Conditions.externalNetwork, () =>
      cachedLookup(session, `external-network:${enabled}:${JSON.stringify(spec.externalNetwork ?? null)}`, () =>
        networking.resolveExternalNetwork(spec.externalNetwork, enabled),
      ),
    );
    this.deferStatus((s) => {
      if (external) s.externalNetwork = { id: external.id, name: external.name, ...(external.tags?.length ? { tags: external.tags } : {}) };
      else delete s.externalNetwork;
      this.condition(s, {
        type: Conditions.externalNetwork,
        status: "True",
        reason: external ? "Resolved" : "NotUsed",
        message: external ? `external network ${external.name || external.id} (${external.id})` : "no external network: the cluster uses fixed IPs",
      });
    });

    // 2. network, subnets, router
    const subnets = await this.step(Conditions.network, () => this.reconcileNetwork(networking, external));

    // 3. security groups
    await this.step(Conditions.securityGroups, () => this.reconcileSecurityGroups(net));

    // 4. API endpoint
    await this.step(Conditions.apiEndpoint, () => this.reconcileAPIEndpoint(session, external, subnets));

    // 5. failure domains
    await this.step(Conditions.failureDomains, async () => {
      const zones = await cachedLookup(session, "availability-zones", () => compute(session).listAvailabilityZones());
      const fds = failureDomainsFrom(zones, {
        controlPlaneAvailabilityZones: spec.controlPlaneAvailabilityZones ?? [],
        controlPlaneOmitAvailabilityZone: spec.controlPlaneOmitAvailabilityZone === true,
      });
      this.deferStatus((s) => {
        s.failureDomains = fds;
        this.condition(s, { type: Conditions.failureDomains, status: "True", reason: "Resolved", message: fds.map((f) => f.name).join(", ") });
      });
    });

    const wasProvisioned = this.status.initialization?.provisioned === true;
    this.deferStatus((s) => markProvisioned(s, this.obj.spec, this.obj.metadata?.generation));
    if (!wasProvisioned) {
      const ep = this.obj.spec.controlPlaneEndpoint;
      await this.event("Normal", "Provisioned", `cluster infrastructure ready; API server endpoint ${ep?.host ?? ""}:${ep?.port ?? ""}`);
    }

    // 6. bastion (after provisioning: machines need not wait for it, but Ready does)
    const bastionPending = await this.step(Conditions.bastion, () => this.reconcileBastion(session, external));
    await this.patchStatus((s) => {
      this.condition(s, readyCondition(this.obj.spec, s));
      // The pass saw every input at this generation, including the endpoint it may have just written to spec: so
      // the next pass, finding nothing to do, has no condition left to restamp (and nothing to write).
      const generation = this.obj.metadata?.generation;
      if (generation !== undefined) for (const c of s.conditions ?? []) c.observedGeneration = generation;
    });
    return bastionPending;
  }

  private async reconcileNetwork(networking: NetworkingService, external: Network | undefined): Promise<Subnet[]> {
    const spec = this.obj.spec;
    const managed = spec.managedSubnets ?? [];
    if (managed.length > 0) {
      const managedSubnet = managed[0]!;
      const known = {
        networkId: this.status.network?.id,
        subnetId: this.status.network?.subnets?.[0]?.id,
        routerId: this.status.router?.id,
      };
      const opts: { mtu?: number; portSecurity?: boolean } = {};
      if (spec.managedNetwork?.mtu !== undefined) opts.mtu = spec.managedNetwork.mtu;
      if (spec.managedNetwork?.enablePortSecurity !== undefined) opts.portSecurity = spec.managedNetwork.enablePortSecurity;
      const n = await networking.ensureNetwork(known, opts);
      if (n.created) await this.event("Normal", "NetworkCreated", `created network ${n.resource.name} (${n.resource.id})`);
      this.deferStatus((s) => {
        s.network = { ...s.network, id: n.resource.id, name: n.resource.name, ...(n.resource.tags?.length ? { tags: n.resource.tags } : {}) };
      });
      const sub = await networking.ensureSubnet(n.resource, managedSubnet, known);
      if (sub.created) await this.event("Normal", "SubnetCreated", `created subnet ${sub.resource.name} ${sub.resource.cidr} (${sub.resource.id})`);
      this.deferStatus((s) => {
        s.network = { id: n.resource.id, name: n.resource.name, ...(n.resource.tags?.length ? { tags: n.resource.tags } : {}), subnets: [subnetStatus(sub.resource)] };
      });
      if (external) {
        const externalIPs = await Promise.all(
          (spec.managedRouter?.externalIPs ?? []).map(async (ip, i) => {
            const field = `managedRouter.externalIPs[${i}].subnet`;
            const onExternal = await networking.resolveSubnet(ip.subnet, external.id, field);
            return { subnet_id: onExternal.id, ...(ip.fixedIP ? { ip_address: ip.fixedIP } : {}) };
          }),
        );
        const r = await networking.ensureRouter(sub.resource, external, known, externalIPs);
        if (r.created) await this.event("Normal", "RouterCreated", `created router ${r.resource.name} (${r.resource.id})`);
        const ips = NetworkingService.routerIPs(r.resource);
        this.deferStatus((s) => {
          s.router = { id: r.resource.id, name: r.resource.name, ...(r.resource.tags?.length ? { tags: r.resource.tags } : {}), ...(ips.length ? { ips } : {}) };
        });
      }
      this.stepDone(Conditions.network, "Provisioned", `network ${n.resource.name}, subnet ${sub.resource.cidr}${external ? ", router" : ""}`);
      return [sub.resource];
    }
    if (spec.network) {
      const n = await networking.resolveNetwork(spec.network);
      const listed: Subnet[] = spec.subnets?.length
        ? await Promise.all(spec.subnets.map((p, i) => networking.resolveSubnet(p, n.id, `subnets[${i}]`)))
        : await networking.listSubnets(n.id);
      // Machines' default port goes to the first subnet in status: primarySubnet, when given, is that one.
      const primary = spec.primarySubnet ? await networking.resolveSubnet(spec.primarySubnet, n.id, "primarySubnet") : undefined;
      const subs = primary ? [primary, ...listed.filter((x) => x.id !== primary.id)] : listed;
      if (subs.length === 0) throw new TerminalError("SubnetNotFound", `network ${n.name || n.id} (spec.network) has no subnets`);
      let routerStatus: ClusterStatus["router"];
      if (spec.router) {
        const r = await networking.resolveRouter(spec.router);
        const ips = NetworkingService.routerIPs(r);
        routerStatus = { id: r.id, name: r.name, ...(ips.length ? { ips } : {}) };
      }
      this.deferStatus((s) => {
        s.network = { id: n.id, name: n.name, subnets: subs.map(subnetStatus) };
        if (routerStatus) s.router = routerStatus;
        this.condition(s, { type: Conditions.network, status: "True", reason: "Resolved", message: `using network ${n.name || n.id}` });
      });
      return subs;
    }
    this.stepDone(Conditions.network, "NotManaged", "no cluster network: machines name their own ports");
    return [];
  }

  private async reconcileSecurityGroups(net: ReturnType<typeof network>): Promise<void> {
    const spec = this.obj.spec;
    const managed = spec.managedSecurityGroups as ManagedSecurityGroupsSpec | undefined;
    if (!managed) {
      this.stepDone(Conditions.securityGroups, "NotManaged", "managedSecurityGroups is not set");
      return;
    }
    const service = new SecurityGroupService(net, this.identity, spec.tags ?? []);
    const withBastion = spec.bastion !== undefined && spec.bastion.enabled !== false;
    const roles = (["controlplane", "worker", ...(withBastion ? (["bastion"] as const) : [])] as const).slice();
    const statusKey = { controlplane: "controlPlaneSecurityGroup", worker: "workerSecurityGroup", bastion: "bastionSecurityGroup" } as const;
    const ids: SecurityGroupIds = {};
    const groups = [];
    for (const role of roles) {
      const { group, created } = await service.ensureGroup(role, this.status[statusKey[role]]?.id);
      if (created) await this.event("Normal", "SecurityGroupCreated", `created security group ${group.name} (${group.id})`);
      ids[role] = group.id;
      groups.push({ role, group });
      this.deferStatus((s) => {
        s[statusKey[role]] = { id: group.id, name: group.name };
      });
    }
    const port = spec.apiServer?.port ?? DEFAULT_API_PORT;
    let changes = 0;
    for (const { role, group } of groups) {
      changes += await service.reconcileRules(group, desiredRules(role, managed, ids, { apiServerPort: port, withBastion }));
    }
    if (changes > 0) this.ctx.log.info({ changes }, "security group rules updated");
    this.stepDone(Conditions.securityGroups, "Provisioned", groups.map((g) => g.group.name).join(", "));
  }

  private async reconcileAPIEndpoint(session: OpenStackSession, external: Network | undefined, subnets: Subnet[]): Promise<void> {
    const spec = this.obj.spec;
    const apiServer = spec.apiServer ?? {};
    const port = apiServer.port ?? DEFAULT_API_PORT;
    const lbSpec = apiServer.managedLoadBalancer;
    const lbEnabled = lbSpec !== undefined && lbSpec.enabled !== false;
    const fipEnabled = external !== undefined && apiServer.enableFloatingIP !== false;
    const fips = new FloatingIpService(network(session), this.identity, spec.tags ?? []);
    const userEndpoint = spec.controlPlaneEndpoint?.host ? spec.controlPlaneEndpoint : undefined;
    let host: string;
    let reason: string;

    if (lbEnabled) {
      // The load balancer is slow to build: what was created before it is recorded first (and allowedCIDRs reads the
      // router's IPs from status).
      await this.flushStatus();
      const vipSubnet = await this.loadBalancerSubnet(session, subnets);
      const lbs = new LoadBalancerService(loadBalancer(session), this.identity, this.opts.loadBalancerWait, spec.tags ?? []);
      const allowed = lbSpec.allowedCIDRs?.length ? this.allowedCIDRs(lbSpec.allowedCIDRs, subnets) : [];
      const desired: LoadBalancerSpec = {
        vipSubnetId: vipSubnet.id,
        ports: [...new Set([port, ...(lbSpec.additionalPorts ?? [])])],
        allowedCIDRs: allowed,
        monitor: {
          delay: lbSpec.monitor?.delay ?? 10,
          timeout: lbSpec.monitor?.timeout ?? 5,
          maxRetries: lbSpec.monitor?.maxRetries ?? 5,
          maxRetriesDown: lbSpec.monitor?.maxRetriesDown ?? 3,
        },
        ...(lbSpec.provider ? { provider: lbSpec.provider } : {}),
        ...(lbSpec.availabilityZone ? { availabilityZone: lbSpec.availabilityZone } : {}),
        ...(lbSpec.flavor ? { flavorId: await this.loadBalancerFlavorId(session, lbSpec.flavor) } : {}),
      };
      const { lb, created } = await lbs.ensureLoadBalancer(this.status.apiServerManagedLoadBalancer?.id, desired);
      if (created) await this.event("Normal", "LoadBalancerCreated", `created load balancer ${lb.name} (${lb.id})`);
      const vip = lb.vip_address ?? "";
      await this.patchStatus((s) => {
        s.apiServerManagedLoadBalancer = {
          name: lb.name,
          id: lb.id,
          ip: s.apiServerManagedLoadBalancer?.ip || vip,
          internalIP: vip,
          ...(allowed.length ? { allowedCIDRs: allowed } : {}),
          ...(lb.tags?.length ? { tags: lb.tags } : {}),
        };
      });
      await lbs.ensureListeners(lb, desired);
      let ip = vip;
      if (fipEnabled) {
        const recorded = this.status.apiServerManagedLoadBalancer?.ip;
        const r = await fips.ensure("api-server", external.id, {
          ...(apiServer.floatingIP ? { address: apiServer.floatingIP } : {}),
          ...(recorded && recorded !== vip ? { knownAddress: recorded } : {}),
        });
        if (r.created) await this.event("Normal", "FloatingIPCreated", `allocated floating IP ${r.fip.floating_ip_address} for the API server load balancer`);
        if (lb.vip_port_id) await fips.associate(r.fip, lb.vip_port_id);
        ip = r.fip.floating_ip_address;
      }
      await this.patchStatus((s) => {
        if (s.apiServerManagedLoadBalancer) s.apiServerManagedLoadBalancer.ip = ip;
      });
      host = userEndpoint?.host ?? ip;
      reason = "LoadBalancer";
    } else if (fipEnabled && (this.status.apiServerFloatingIP || !userEndpoint || (await fips.findOurs("api-server")).length > 0)) {
      const recorded = this.status.apiServerFloatingIP;
      const r = await fips.ensure("api-server", external.id, {
        ...(recorded ? { knownId: recorded.id, knownAddress: recorded.ip } : {}),
        ...(apiServer.floatingIP ? { address: apiServer.floatingIP } : {}),
      });
      if (r.reallocated) {
        await this.event("Warning", "FloatingIPReallocated", `the API server floating IP ${r.fip.floating_ip_address} had been removed from the cloud; allocated the same address again`);
      } else if (r.created) {
        await this.event("Normal", "FloatingIPCreated", `allocated floating IP ${r.fip.floating_ip_address} for the API server`);
      }
      this.deferStatus((s) => {
        s.apiServerFloatingIP = { id: r.fip.id, ip: r.fip.floating_ip_address };
      });
      if (userEndpoint && userEndpoint.host !== r.fip.floating_ip_address) {
        throw new TerminalError(
          "FloatingIPMismatch",
          `spec.controlPlaneEndpoint.host ${userEndpoint.host} is not the API server floating IP ${r.fip.floating_ip_address}; ` +
            "the endpoint cannot change once set",
        );
      }
      host = r.fip.floating_ip_address;
      reason = "FloatingIP";
    } else if (apiServer.fixedIP) {
      host = userEndpoint?.host ?? apiServer.fixedIP;
      reason = "FixedIP";
    } else if (userEndpoint?.host) {
      host = userEndpoint.host;
      reason = "UserProvided";
    } else {
      throw new TerminalError(
        "NoAPIEndpoint",
        "no way to reach the API server: set apiServer.managedLoadBalancer, use an external network (for a floating IP), " +
          "set apiServer.fixedIP, or set controlPlaneEndpoint",
      );
    }
    const endpointPort = spec.controlPlaneEndpoint?.port || port;
    if (spec.controlPlaneEndpoint?.host !== host || spec.controlPlaneEndpoint.port !== endpointPort) {
      // What was created so far (the floating IP above all) is recorded before the endpoint that names it is set.
      await this.flushStatus();
      this.obj = await updateWithRetry(this.ctx.client, OpenStackClusterType, this.obj, (d) => {
        d.spec.controlPlaneEndpoint = { host, port: endpointPort };
      });
    }
    this.stepDone(Conditions.apiEndpoint, reason, `${host}:${endpointPort}`);
  }

  /**
   * The bastion when spec.bastion is enabled: port, server, floating IP. Returns a requeue while the server builds.
   * When it is disabled or removed, what was created for it is deleted.
   */
  private async reconcileBastion(session: OpenStackSession, external: Network | undefined): Promise<ReconcileResult | undefined> {
    const spec = this.obj.spec;
    const bastion = spec.bastion;
    const svc = new BastionService(compute(session), image(session), network(session), this.identity, spec.tags ?? []);
    const known = { serverId: this.status.bastion?.id, portId: this.status.bastion?.resources?.ports?.[0]?.id };
    if (!bastion?.spec || bastion.enabled === false) {
      if (this.status.bastion || bastion) {
        if (await svc.delete(known, this.opts.loadBalancerWait)) await this.event("Normal", "BastionDeleted", `deleted bastion ${svc.name}`);
      }
      this.deferStatus((s) => {
        delete s.bastion;
        if (s.conditions) s.conditions = s.conditions.filter((c) => c.type !== Conditions.bastion);
      });
      return undefined;
    }
    // The bastion's port goes on the network and in the security group recorded above.
    await this.flushStatus();
    const subnet = this.status.network?.subnets?.[0];
    if (!this.status.network || !subnet) {
      throw new TerminalError("BastionNetworkMissing", "the bastion needs a cluster network: set managedSubnets or network");
    }
    // The bastion takes the settings below; anything else in bastion.spec would be dropped, so it is refused.
    const unsupported = Object.keys(bastion.spec).filter((k) => !BASTION_SPEC_FIELDS.has(k));
    if (unsupported.length > 0) {
      throw new TerminalError(
        "BastionSpecUnsupported",
        `bastion.spec.${unsupported.sort().join(", bastion.spec.")}: not supported for the bastion by capo-ts yet ` +
          `(supported: ${[...BASTION_SPEC_FIELDS].join(", ")}); remove ${unsupported.length === 1 ? "it" : "them"}`,
      );
    }
    const bastionSpec: BastionSpec = {
      flavor: bastion.spec.flavor,
      image: bastion.spec.image,
      ...(bastion.spec.sshKeyName ? { sshKeyName: bastion.spec.sshKeyName } : {}),
      ...(bastion.availabilityZone ? { availabilityZone: bastion.availabilityZone } : {}),
      ...(bastion.floatingIP ? { floatingIP: bastion.floatingIP } : {}),
    };
    const sg = this.status.bastionSecurityGroup?.id;
    const { port, created: portCreated } = await svc.ensurePort(known, {
      networkId: this.status.network.id,
      subnetId: subnet.id,
      securityGroupIds: sg ? [sg] : [],
    });
    if (portCreated) this.ctx.log.info({ port: port.id }, "bastion port created");
    await this.patchStatus((s) => {
      s.bastion = { ...s.bastion, name: svc.name, resources: { ports: [{ id: port.id }] } };
    });
    const { server, created } = await svc.ensureServer(known, bastionSpec, port);
    if (created) await this.event("Normal", "BastionCreated", `created bastion server ${server.name} (${server.id})`);
    const ip = port.fixed_ips?.[0]?.ip_address;
    await this.patchStatus((s) => {
      s.bastion = {
        ...s.bastion,
        id: server.id,
        name: server.name,
        state: server.status ?? "",
        ...(bastionSpec.sshKeyName ? { sshKeyName: bastionSpec.sshKeyName } : {}),
        ...(ip ? { ip } : {}),
      };
    });
    if (server.status === "ERROR") {
      const fault = (server["fault"] as { message?: string } | undefined)?.message ?? "no fault message";
      throw new TerminalError("BastionError", `bastion server ${server.name} (${server.id}) is in ERROR: ${fault}; delete it in OpenStack to have it recreated`);
    }
    if (server.status !== "ACTIVE") {
      await this.patchStatus((s) =>
        this.condition(s, { type: Conditions.bastion, status: "False", reason: BASTION_BUILDING, message: `bastion server is ${server.status ?? "being created"}` }),
      );
      return { requeueAfterMs: this.opts.bastionRequeueMs };
    }
    let floating: string | undefined;
    if (external && spec.enableExternalNetwork !== false) {
      const r = await svc.ensureFloatingIp(external.id, bastionSpec, port);
      if (r.created) await this.event("Normal", "FloatingIPCreated", `allocated floating IP ${r.fip.floating_ip_address} for the bastion`);
      floating = r.fip.floating_ip_address;
      await this.patchStatus((s) => {
        s.bastion = { ...s.bastion, floatingIP: r.fip.floating_ip_address };
      });
    }
    this.stepDone(Conditions.bastion, "Ready", `bastion ${server.name} at ${floating ?? ip ?? ""}`);
    return undefined;
  }

  private async requireLoadBalancerService(session: OpenStackSession): Promise<void> {
    const lbSpec = this.obj.spec.apiServer?.managedLoadBalancer;
    if (lbSpec === undefined || lbSpec.enabled === false || (await loadBalancer(session).available())) return;
    throw new TerminalError(
      "LoadBalancerNotAvailable",
      "apiServer.managedLoadBalancer asks for an Octavia load balancer, but this cloud's catalog has no load-balancer endpoint; " +
        "set apiServer.managedLoadBalancer.enabled: false (the API server then gets a floating IP) or use a cloud with Octavia",
    );
  }

  /** The id of the Octavia flavor named in apiServer.managedLoadBalancer.flavor; a wrong name is terminal. */
  private async loadBalancerFlavorId(session: OpenStackSession, name: string): Promise<string> {
    const found = (await loadBalancer(session).flavors.list({ name })).filter((f) => f.name === name);
    if (found.length === 1 && found[0]) return found[0].id;
    throw new TerminalError(
      "LoadBalancerFlavorNotFound",
      found.length === 0
        ? `apiServer.managedLoadBalancer.flavor ${JSON.stringify(name)}: no such Octavia flavor (openstack loadbalancer flavor list)`
        : `apiServer.managedLoadBalancer.flavor ${JSON.stringify(name)}: ${found.length} Octavia flavors have that name`,
    );
  }

  private async loadBalancerSubnet(session: OpenStackSession, subnets: Subnet[]): Promise<Subnet> {
    const lbSpec = this.obj.spec.apiServer?.managedLoadBalancer;
    if (lbSpec?.network || lbSpec?.subnets?.length) {
      const networking = new NetworkingService(network(session), this.identity);
      const n = lbSpec.network ? await networking.resolveNetwork(lbSpec.network, "apiServer.managedLoadBalancer.network") : undefined;
      const first = lbSpec.subnets?.[0];
      if (first) return networking.resolveSubnet(first, n?.id, "apiServer.managedLoadBalancer.subnets[0]");
      const all = n ? await networking.listSubnets(n.id) : [];
      if (all[0]) return all[0];
    }
    const s = subnets[0];
    if (!s) {
      throw new TerminalError(
        "LoadBalancerSubnetNotFound",
        "the API server load balancer needs a subnet: set managedSubnets, network, or apiServer.managedLoadBalancer.network",
      );
    }
    return s;
  }

  /** The user's CIDRs plus what the cluster itself needs to reach its API server through the load balancer. */
  private allowedCIDRs(user: readonly string[], subnets: Subnet[]): string[] {
    const extra = subnets.map((s) => s.cidr);
    for (const ip of this.status.router?.ips ?? []) extra.push(ip.includes(":") ? `${ip}/128` : `${ip}/32`);
    return [...new Set([...user, ...extra])].sort();
  }

  // ---- delete ----

  private async reconcileDelete(ownerName: string | undefined): Promise<ReconcileResult> {
    this.opts.memo.forget(this.obj);
    const clusterName = ownerName ?? this.obj.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? this.obj.metadata?.name ?? "";
    const machines = this.ctx.cache.list(CapiTypes.machine, { namespace: this.ns, labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName}` });
    if (machines.length > 0) {
      await this.patchStatus((s) =>
        this.condition(s, {
          type: Conditions.ready,
          status: "False",
          reason: "WaitingForMachines",
          message: `deleting: waiting for ${machines.length} Machine(s) of cluster ${clusterName} to be deleted`,
        }),
      );
      return { requeueAfterMs: this.opts.machinesGoneRequeueMs };
    }
    try {
      return await this.deleteResources();
    } catch (e) {
      // Every delete failure is retried (a subnet still in use, an outage, a missing Secret): the condition says why.
      const c = classify(e);
      const credentials = c.reason === "CredentialsUnavailable" || c.reason === CREDENTIALS_INVALID;
      const reason = credentials ? c.reason : "DeletionFailed";
      await this.patchStatus((s) => this.condition(s, { type: Conditions.ready, status: "False", reason, message: `deleting: ${c.message}` }));
      // The Secret coming back (or fixed) wakes this object (Secret watch); until then a slow retry is enough.
      if (credentials) return { requeueAfterMs: this.opts.terminalRequeueMs };
      throw e;
    }
  }

  private async deleteResources(): Promise<ReconcileResult> {
    let session: OpenStackSession;
    try {
      session = await this.session();
    } catch (e) {
      if ((e instanceof UserError || e instanceof CredentialsInvalidError) && !this.hasRecordedResources()) {
        await this.event("Warning", "CredentialsUnavailable", `${e.message}; nothing was recorded as created, removing the finalizer`);
        await this.dropFinalizer();
        return;
      }
      throw e;
    }
    await this.patchStatus((s) =>
      this.condition(s, { type: Conditions.ready, status: "False", reason: "Deleting", message: "deleting the cluster's OpenStack resources" }),
    );
    const net = network(session);
    const tags = this.obj.spec.tags ?? [];
    const bastion = new BastionService(compute(session), image(session), net, this.identity, tags);
    const bastionKnown = { serverId: this.status.bastion?.id, portId: this.status.bastion?.resources?.ports?.[0]?.id };
    if (await bastion.delete(bastionKnown, this.opts.loadBalancerWait)) await this.event("Normal", "BastionDeleted", `deleted bastion ${bastion.name}`);
    const octavia = loadBalancer(session);
    const lbs = new LoadBalancerService(octavia, this.identity, this.opts.loadBalancerWait, tags);
    // A cloud without Octavia has no load balancer of ours: the deletion must not wait on its missing endpoint.
    if ((await octavia.available()) && (await lbs.deleteLoadBalancer(this.status.apiServerManagedLoadBalancer?.id))) {
      await this.event("Normal", "LoadBalancerDeleted", `deleted load balancer ${lbs.name}`);
    }
    const released = await new FloatingIpService(net, this.identity, tags).release("api-server", this.status.apiServerFloatingIP?.id);
    if (released > 0) await this.event("Normal", "FloatingIPReleased", "released the API server floating IP");
    await this.deleteLeftoverPorts(net);
    const removed = await new NetworkingService(net, this.identity, tags).deleteManagedNetworking({
      networkId: this.status.network?.id,
      subnetId: this.status.network?.subnets?.[0]?.id,
      routerId: this.status.router?.id,
    });
    if (removed.network || removed.subnet || removed.router) await this.event("Normal", "NetworkDeleted", "deleted the cluster network, subnet and router");
    const sgs = await new SecurityGroupService(net, this.identity, tags).deleteGroups({
      controlplane: this.status.controlPlaneSecurityGroup?.id,
      worker: this.status.workerSecurityGroup?.id,
      bastion: this.status.bastionSecurityGroup?.id,
    });
    if (sgs > 0) await this.event("Normal", "SecurityGroupsDeleted", `deleted ${sgs} security group(s)`);
    await this.dropFinalizer();
    return;
  }

  /** Unbound ports of ours a machine left on the cluster network (see PortService.deleteLeftovers); its Machines are gone. */
  private async deleteLeftoverPorts(net: NetworkClient): Promise<void> {
    if (!this.status.network?.id) return;
    const leftovers = await new PortService(net, this.identity).deleteLeftovers(this.status.network.id);
    if (leftovers.length === 0) return;
    await this.event("Normal", "PortsDeleted", `deleted ${leftovers.length} unbound port(s) of this cluster left on its network: ${leftovers.map((p) => p.name || p.id).join(", ")}`);
  }

  private hasRecordedResources(): boolean {
    const s = this.status;
    return Boolean(
      s.network ||
        s.router ||
        s.apiServerManagedLoadBalancer ||
        s.apiServerFloatingIP ||
        s.controlPlaneSecurityGroup ||
        s.workerSecurityGroup ||
        s.bastionSecurityGroup ||
        s.bastion,
    );
  }

  private async dropFinalizer(): Promise<void> {
    try {
      this.obj = await removeFinalizer(this.ctx.client, OpenStackClusterType, this.obj, CLUSTER_FINALIZER);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

function subnetStatus(s: Subnet): { id: string; name: string; cidr: string; tags?: string[] } {
  return { id: s.id, name: s.name, cidr: s.cidr, ...(s.tags?.length ? { tags: s.tags } : {}) };
}

