import type { KubernetesObject } from "@kubernetes/client-node";
import {
  addFinalizer,
  CapiTypes,
  CLUSTER_NAME_LABEL,
  anyOf,
  CoreTypes,
  defineController,
  fieldsChanged,
  keyFor,
  keyOf,
  metadataChanged,
  ownerKeys,
  refKeys,
  specOrMetadataChanged,
  type CacheLookup,
  type ControllerDefinition,
  type ObjectKey,
  type ReconcileContext,
  type ReconcileResult,
  readPrimary,
} from "../../runtime/index.js";
import type { OpenStackSession } from "../../openstack/index.js";
import { errorMessage, UserError } from "../../util/errors.js";
import { CredentialsInvalidError } from "../credentials-gate.js";
import { protectCredentials } from "../credentials-finalizer.js";
import { IDENTITY_SECRET_SELECTOR, openStackSessionFor } from "../credentials.js";
import { ConditionType, getCondition, Reason } from "./conditions.js";
import { credentialsProblem } from "./credentials-problem.js";
import { reconcileDeleteWithCredentials, reportCredentialsProblem } from "./reconcile-delete.js";
import { reconcileNormal } from "./reconcile-normal.js";
import { isSteady, machineFingerprint } from "./steady.js";
import { DEFAULT_VERIFY_EVERY_MS, SteadyStateMemo } from "../steady-state.js";
import { endingWithFlush } from "../deferred-status.js";
import { clientsOf, DEFAULT_TERMINAL_RETRY_MS, MachineScope, type MachineControllerOptions } from "./scope.js";
import { createFailedTerminally } from "./create-server.js";
import { VanishedMachines } from "./vanished.js";
import {
  CONTROL_PLANE_LABEL,
  MACHINE_FINALIZER,
  OpenStackClusterType,
  OpenStackMachineType,
  PAUSED_ANNOTATION,
  type ClusterObject,
  type MachineObject,
  type OpenStackClusterObject,
  type OpenStackMachineObject,
} from "./types.js";

export type { MachineControllerOptions, CrashPoint } from "./scope.js";
export { MACHINE_FINALIZER, OpenStackMachineType, OpenStackClusterType } from "./types.js";

function machinesOfCluster(cache: CacheLookup, namespace: string | undefined, clusterName: string | undefined): ObjectKey[] {
  if (!clusterName) return [];
  return cache
    .list<OpenStackMachineObject>(OpenStackMachineType, { namespace, labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName}` })
    .map(keyOf);
}

/** What a machine reads of its OpenStackCluster: its spec, and the status fields naming what was provisioned. */
const clusterInfraChanged = anyOf(
  specOrMetadataChanged,
  fieldsChanged(
    "status.initialization",
    "status.network",
    "status.controlPlaneSecurityGroup",
    "status.workerSecurityGroup",
    "status.apiServerFloatingIP",
    "status.apiServerManagedLoadBalancer",
  ),
);

/** Machines using the identity Secret: their own identityRef, or their cluster's. */
function machinesUsingSecret(secret: KubernetesObject, cache: CacheLookup): ObjectKey[] {
  const ns = secret.metadata?.namespace;
  const name = secret.metadata?.name;
  const direct = cache
    .list<OpenStackMachineObject>(OpenStackMachineType, { namespace: ns })
    .filter((m) => m.spec.identityRef?.name === name)
    .map(keyOf);
  const viaCluster = cache
    .list<OpenStackClusterObject>(OpenStackClusterType, { namespace: ns })
    .filter((c) => c.spec.identityRef?.name === name)
    .flatMap((c) => machinesOfCluster(cache, ns, c.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? c.metadata?.ownerReferences?.find((o) => o.kind === "Cluster")?.name));
  return [...new Set([...direct, ...viaCluster])];
}

/** The OpenStackMachine controller. Options exist for tests (timings, crash points) and an injected session. */
export function createOpenStackMachineController(opts: MachineControllerOptions = {}): ControllerDefinition {
  const memos: MachineMemos = {
    steady: new SteadyStateMemo(opts.verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS),
    createFailed: new SteadyStateMemo(opts.terminalRetryMs ?? DEFAULT_TERMINAL_RETRY_MS),
    vanished: new VanishedMachines(),
  };
  return defineController({
    name: "openstackmachine",
    primary: OpenStackMachineType,
    concurrency: opts.concurrency ?? 10,
    ...(opts.backoffBaseMs !== undefined ? { backoffBaseMs: opts.backoffBaseMs } : {}),
    ...(opts.backoffMaxMs !== undefined ? { backoffMaxMs: opts.backoffMaxMs } : {}),
    secondaries: [
      // The Machine gets its bootstrap data, failure domain or deletion: reconcile its infrastructure machine.
      // (dataSecretName, failureDomain and version are spec; the node joining is status.nodeRef).
      {
        gvk: CapiTypes.machine,
        changed: anyOf(specOrMetadataChanged, fieldsChanged("status.nodeRef")),
        mapToPrimaryKeys: (m) => refKeys(m, "infrastructureRef", "OpenStackMachine"),
      },
      // Unpausing a cluster concerns every machine of the cluster; its status churn does not.
      {
        gvk: CapiTypes.cluster,
        changed: specOrMetadataChanged,
        mapToPrimaryKeys: (c, cache) => machinesOfCluster(cache, c.metadata?.namespace, c.metadata?.name),
      },
      // The cluster infrastructure becoming ready (or changing what machines use); never its conditions.
      {
        gvk: OpenStackClusterType,
        changed: clusterInfraChanged,
        mapToPrimaryKeys: (osc, cache) =>
          machinesOfCluster(
            cache,
            osc.metadata?.namespace,
            osc.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? osc.metadata?.ownerReferences?.find((o) => o.kind === "Cluster")?.name,
          ),
      },
      // A control-plane machine going away may have to hand the API floating IP to a sibling.
      {
        gvk: OpenStackMachineType,
        changed: metadataChanged(["deletionTimestamp"]),
        mapToPrimaryKeys: (osm, cache) => {
          if (!osm.metadata?.deletionTimestamp || !(CONTROL_PLANE_LABEL in (osm.metadata.labels ?? {}))) return [];
          const self = keyOf(osm);
          return machinesOfCluster(cache, osm.metadata.namespace, osm.metadata.labels?.[CLUSTER_NAME_LABEL]).filter((k) => k !== self);
        },
      },
      // Fixed credentials wake the machines that were waiting for them.
      { gvk: CoreTypes.secret, labelSelector: IDENTITY_SECRET_SELECTOR, changed: fieldsChanged("data"), mapToPrimaryKeys: machinesUsingSecret },
    ],
    primaryDeleted: (last) => memos.vanished.record(last),
    reconcile: (key, ctx) => reconcileMachine(key, ctx, opts, memos),
  });
}

function isPaused(obj: KubernetesObject | undefined): boolean {
  return !!obj?.metadata?.annotations && PAUSED_ANNOTATION in obj.metadata.annotations;
}

/**
 * What a controller remembers between passes (in memory: after a restart each object gets one fresh pass).
 * - steady: ACTIVE machines verified recently with the same inputs.
 * - createFailed: machines whose create failed in a way only the user can fix (quota, unknown key pair, a request
 *   Nova rejects), with the inputs of that attempt. A wake with the same inputs (a Machine status change, the
 *   cluster's writes) must not send the same create again; a change of spec, annotations (`kubectl annotate` after
 *   fixing the cloud) or credentials Secret, or the slow terminal retry, does.
 * - vanished: machines deleted while they still held our finalizer, until their cleanup has run.
 */
interface MachineMemos {
  steady: SteadyStateMemo;
  createFailed: SteadyStateMemo;
  vanished: VanishedMachines;
}

async function reconcileMachine(key: ObjectKey, ctx: ReconcileContext, opts: MachineControllerOptions, memos: MachineMemos): Promise<ReconcileResult> {
  const cached = await readPrimary<OpenStackMachineObject>(ctx, OpenStackMachineType);
  if (!cached) return cleanUpVanished(key, ctx, opts, memos.vanished);
  const { scope, oscName } = scopeOf(cached, ctx, opts);
  return endingWithFlush(() => scope.flushStatus(), ctx.log, () => reconcileScope(scope, oscName, opts, memos));
}

/**
 * The deletion of a machine the apiserver removed while it still held our finalizer (see VanishedMachines), run
 * from the state it was deleted in: the server and ports by recorded id and by name + cluster tag, as for any
 * deletion. Done when that deletion is; a paused machine or cluster is left alone.
 */
async function cleanUpVanished(key: ObjectKey, ctx: ReconcileContext, opts: MachineControllerOptions, vanished: VanishedMachines): Promise<ReconcileResult> {
  const last = vanished.get(key);
  if (!last) return;
  const { scope } = scopeOf(last, ctx, opts, true);
  if (scope.cluster?.spec?.paused || isPaused(scope.cluster) || isPaused(last)) {
    vanished.forget(key);
    return;
  }
  ctx.log.warn("deleted while still holding our finalizer (an apiserver race): deleting what it may have created");
  const identityRef = last.spec.identityRef ?? scope.osc?.spec.identityRef;
  const result = await reconcileDeleteWithCredentials(scope, identityRef && (() => sessionFor(ctx, scope.namespace, identityRef, opts)));
  if (result) vanished.update(key, scope.osm);
  else vanished.forget(key);
  return result;
}

/** The machine with its Machine, Cluster and OpenStackCluster from the caches. */
function scopeOf(cached: OpenStackMachineObject, ctx: ReconcileContext, opts: MachineControllerOptions, vanished = false): { scope: MachineScope; oscName?: string } {
  const ns = cached.metadata?.namespace ?? "";
  const machineKey = ownerKeys(cached, "Machine", "cluster.x-k8s.io")[0];
  const machine = machineKey ? ctx.cache.get<MachineObject>(CapiTypes.machine, machineKey) : undefined;
  const clusterName = machine?.spec?.clusterName ?? cached.metadata?.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? ctx.cache.get<ClusterObject>(CapiTypes.cluster, keyFor(ns, clusterName)) : undefined;
  const osc = findOpenStackCluster(ctx.cache, ns, clusterName, cluster);
  const oscName = osc?.metadata?.name ?? (cluster?.spec?.infrastructureRef?.kind === "OpenStackCluster" ? cluster.spec.infrastructureRef.name : undefined);
  return { scope: new MachineScope(ctx, cached, machine, cluster, osc, opts, vanished), ...(oscName ? { oscName } : {}) };
}

function markNotPaused(scope: MachineScope): void {
  if (getCondition(scope.osm.status?.conditions, ConditionType.paused)?.status !== "False") {
    scope.deferConditions([{ type: ConditionType.paused, status: "False", reason: Reason.notPaused }]);
  }
}

async function reconcileScope(scope: MachineScope, oscName: string | undefined, opts: MachineControllerOptions, memos: MachineMemos): Promise<ReconcileResult> {
  const { ctx, machine, cluster, osc } = scope;
  const cached = scope.osm;
  const ns = scope.namespace;
  const clusterName = scope.clusterName;
  const deleting = !!cached.metadata?.deletionTimestamp;

  if (deleting && !cached.metadata?.finalizers?.includes(MACHINE_FINALIZER)) return;
  if (cluster?.spec?.paused || isPaused(cluster) || isPaused(cached)) {
    await scope.setConditions([{ type: ConditionType.paused, status: "True", reason: Reason.paused, message: "reconciliation is paused" }]);
    return;
  }

  const identityRef = cached.spec.identityRef ?? osc?.spec.identityRef;
  if (deleting) {
    markNotPaused(scope);
    memos.steady.forget(cached);
    memos.createFailed.forget(cached);
    return reconcileDeleteWithCredentials(scope, identityRef && (() => sessionFor(ctx, ns, identityRef, opts)));
  }

  if (!machine) {
    ctx.log.debug("waiting for the owning Machine");
    return;
  }
  if (!cluster || !osc) {
    ctx.log.debug({ cluster: clusterName, openStackCluster: oscName }, "waiting for the Cluster and its OpenStackCluster");
    return;
  }
  // Not before: a machine just cloned by its control plane or MachineSet gets its owner a moment later, and a pass
  // with nothing to do but wait need not write.
  markNotPaused(scope);
  if (!osc.status?.initialization?.provisioned) {
    // A machine whose server exists keeps its Ready: the cluster may only be re-provisioning (after clusterctl
    // move its status is rebuilt), and Ready=False would have MachineHealthChecks replace every machine.
    if (hasServer(cached)) {
      ctx.log.debug({ openStackCluster: oscName }, "OpenStackCluster not provisioned (again?): server kept, waiting");
      return;
    }
    await scope.setConditions([
      { type: ConditionType.instanceReady, status: "False", reason: Reason.waitingForClusterInfrastructure, message: `OpenStackCluster ${oscName} is not provisioned yet` },
      { type: ConditionType.ready, status: "False", reason: Reason.waitingForClusterInfrastructure, message: `OpenStackCluster ${oscName} is not provisioned yet` },
    ]);
    return;
  }
  if (!machine.spec?.bootstrap?.dataSecretName) {
    await scope.setConditions([
      { type: ConditionType.instanceReady, status: "False", reason: Reason.waitingForBootstrapData, message: "Machine spec.bootstrap.dataSecretName is not set yet" },
      { type: ConditionType.ready, status: "False", reason: Reason.waitingForBootstrapData, message: "waiting for bootstrap data" },
    ]);
    return;
  }
  if (!identityRef) {
    await reportCredentialsProblem(scope, {
      reason: Reason.credentialsUnavailable,
      message: "neither the OpenStackMachine nor its OpenStackCluster has spec.identityRef; set one of them",
    });
    return;
  }
  if (!cached.metadata?.finalizers?.includes(MACHINE_FINALIZER)) {
    scope.osm = await addFinalizer(ctx.client, OpenStackMachineType, cached, MACHINE_FINALIZER);
  }
  await protectCredentials(ctx, ns, identityRef.name);
  // An ACTIVE server verified with the same inputs needs no polling: status churn costs no OpenStack request.
  const fingerprint = (): string => `${machineFingerprint(scope)}|${secretVersion(ctx, ns, identityRef.name) ?? ""}`;
  if (!ctx.periodicCheck && isSteady(scope.osm) && memos.steady.isVerified(scope.osm, fingerprint())) {
    ctx.log.debug("verified recently with the same inputs: no OpenStack request");
    return;
  }
  memos.steady.forget(scope.osm);
  const attempt = (): string => `${fingerprint()}|${JSON.stringify(scope.osm.metadata?.annotations ?? {})}`;
  const heldMs = createFailedTerminally(scope.osm) ? memos.createFailed.remainingMs(scope.osm, attempt()) : undefined;
  if (heldMs !== undefined) {
    ctx.log.debug({ retryInMs: heldMs }, "create failed with the same inputs: waiting for a change or the slow retry");
    return { requeueAfterMs: heldMs };
  }
  memos.createFailed.forget(scope.osm);
  let session: OpenStackSession;
  try {
    session = await sessionFor(ctx, ns, identityRef, opts);
  } catch (e) {
    const problem = credentialsProblem(e, opts);
    if (!problem) throw e;
    await reportCredentialsProblem(scope, problem);
    return { requeueAfterMs: problem.retryAfterMs };
  }
  const result = await reconcileNormal(scope, clientsOf(session));
  // The steady-state memo keys on the object as written.
  await scope.flushStatus();
  if (!result && isSteady(scope.osm)) memos.steady.record(scope.osm, fingerprint());
  if (createFailedTerminally(scope.osm)) memos.createFailed.record(scope.osm, attempt());
  return result;
}

/** The identity Secret's resourceVersion: new credentials end the steady-state shortcut. */
function secretVersion(ctx: ReconcileContext, ns: string, name: string): string | undefined {
  try {
    return ctx.cache.get(CoreTypes.secret, keyFor(ns, name))?.metadata?.resourceVersion;
  } catch {
    // No Secret informer: the TTL and the periodic check bound how long a change goes unseen.
    return undefined;
  }
}

/** A server was created for this machine (recorded in status or spec). */
function hasServer(osm: OpenStackMachineObject): boolean {
  return !!(osm.status?.instanceID || osm.spec.providerID);
}

/**
 * The machine's OpenStackCluster: the Cluster's infrastructureRef; when the Cluster is gone (deleted first, or
 * not moved yet), the OpenStackCluster labelled with the cluster name, else the one a Cluster of that name owns.
 */
function findOpenStackCluster(
  cache: CacheLookup,
  namespace: string,
  clusterName: string | undefined,
  cluster: ClusterObject | undefined,
): OpenStackClusterObject | undefined {
  const ref = cluster?.spec?.infrastructureRef;
  if (ref?.kind === "OpenStackCluster" && ref.name) return cache.get<OpenStackClusterObject>(OpenStackClusterType, keyFor(namespace, ref.name));
  if (!clusterName) return undefined;
  const labelled = cache.list<OpenStackClusterObject>(OpenStackClusterType, { namespace, labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName}` });
  if (labelled[0]) return labelled[0];
  return cache
    .list<OpenStackClusterObject>(OpenStackClusterType, { namespace })
    .find((o) => (o.metadata?.ownerReferences ?? []).some((r) => r.kind === "Cluster" && r.name === clusterName));
}

async function sessionFor(
  ctx: ReconcileContext,
  namespace: string,
  ref: { name: string; cloudName: string; region?: string },
  opts: MachineControllerOptions,
) {
  try {
    if (opts.sessionFor) return await opts.sessionFor(ctx, namespace, ref);
    return await openStackSessionFor(ctx, namespace, ref, { onRequest: ctx.openStackOnRequest });
  } catch (e) {
    // Problems the user must fix keep their type (and message, which names the Secret): they become conditions.
    if (e instanceof CredentialsInvalidError || e instanceof UserError) throw e;
    throw new Error(`credentials for identityRef ${ref.name}/${ref.cloudName}: ${errorMessage(e)}`);
  }
}
