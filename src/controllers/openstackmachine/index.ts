import type { KubernetesObject } from "@kubernetes/client-node";
import {
  addFinalizer,
  CapiTypes,
  CLUSTER_NAME_LABEL,
  defineController,
  isNotFound,
  keyFor,
  keyOf,
  ownerKeys,
  refKeys,
  type CacheLookup,
  type ControllerDefinition,
  type ObjectKey,
  type ReconcileContext,
  type ReconcileResult,
} from "../../runtime/index.js";
import { errorMessage } from "../../util/errors.js";
import { openStackSessionFor } from "../credentials.js";
import { ConditionType, getCondition, Reason } from "./conditions.js";
import { reconcileDelete, removeFinalizerIfPresent } from "./reconcile-delete.js";
import { reconcileNormal } from "./reconcile-normal.js";
import { isSteady, machineFingerprint } from "./steady.js";
import { DEFAULT_VERIFY_EVERY_MS, SteadyStateMemo } from "../steady-state.js";
import { clientsOf, MachineScope, type MachineControllerOptions } from "./scope.js";
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

/** The OpenStackMachine controller. Options exist for tests (timings, crash points) and an injected session. */
export function createOpenStackMachineController(opts: MachineControllerOptions = {}): ControllerDefinition {
  const memo = new SteadyStateMemo(opts.verifyEveryMs ?? DEFAULT_VERIFY_EVERY_MS);
  return defineController({
    name: "openstackmachine",
    primary: OpenStackMachineType,
    concurrency: opts.concurrency ?? 10,
    secondaries: [
      // The Machine gets its bootstrap data, failure domain or deletion: reconcile its infrastructure machine.
      { gvk: CapiTypes.machine, mapToPrimaryKeys: (m) => refKeys(m, "infrastructureRef", "OpenStackMachine") },
      // Unpausing a cluster, or its infrastructure becoming ready, concerns every machine of the cluster.
      { gvk: CapiTypes.cluster, mapToPrimaryKeys: (c, cache) => machinesOfCluster(cache, c.metadata?.namespace, c.metadata?.name) },
      {
        gvk: OpenStackClusterType,
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
        mapToPrimaryKeys: (osm, cache) => {
          if (!osm.metadata?.deletionTimestamp || !(CONTROL_PLANE_LABEL in (osm.metadata.labels ?? {}))) return [];
          const self = keyOf(osm);
          return machinesOfCluster(cache, osm.metadata.namespace, osm.metadata.labels?.[CLUSTER_NAME_LABEL]).filter((k) => k !== self);
        },
      },
    ],
    reconcile: (key, ctx) => reconcileMachine(key, ctx, opts, memo),
  });
}

function isPaused(obj: KubernetesObject | undefined): boolean {
  return !!obj?.metadata?.annotations && PAUSED_ANNOTATION in obj.metadata.annotations;
}

async function reconcileMachine(key: ObjectKey, ctx: ReconcileContext, opts: MachineControllerOptions, memo: SteadyStateMemo): Promise<ReconcileResult> {
  if (!ctx.cache.get<OpenStackMachineObject>(OpenStackMachineType, key)) return;
  // Decisions about creating things are made on the object as stored, never on a cache entry that may lag our
  // own last status write.
  let cached: OpenStackMachineObject;
  try {
    cached = await ctx.client.get<OpenStackMachineObject>(OpenStackMachineType, ctx.namespace, ctx.name);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  const ns = cached.metadata?.namespace ?? "";
  const machineKey = ownerKeys(cached, "Machine", "cluster.x-k8s.io")[0];
  const machine = machineKey ? ctx.cache.get<MachineObject>(CapiTypes.machine, machineKey) : undefined;
  const clusterName = machine?.spec?.clusterName ?? cached.metadata?.labels?.[CLUSTER_NAME_LABEL];
  const cluster = clusterName ? ctx.cache.get<ClusterObject>(CapiTypes.cluster, keyFor(ns, clusterName)) : undefined;
  const oscName = cluster?.spec?.infrastructureRef?.kind === "OpenStackCluster" ? cluster.spec.infrastructureRef.name : undefined;
  const osc = oscName ? ctx.cache.get<OpenStackClusterObject>(OpenStackClusterType, keyFor(ns, oscName)) : undefined;
  const scope = new MachineScope(ctx, cached, machine, cluster, osc, opts);
  const deleting = !!cached.metadata?.deletionTimestamp;

  if (deleting && !cached.metadata?.finalizers?.includes(MACHINE_FINALIZER)) return;
  if (cluster?.spec?.paused || isPaused(cluster) || isPaused(cached)) {
    await scope.setConditions([{ type: ConditionType.paused, status: "True", reason: Reason.paused, message: "reconciliation is paused" }]);
    return;
  }
  if (getCondition(cached.status?.conditions, ConditionType.paused)?.status !== "False") {
    await scope.setConditions([{ type: ConditionType.paused, status: "False", reason: Reason.notPaused }]);
  }

  const identityRef = cached.spec.identityRef ?? osc?.spec.identityRef;
  if (deleting) {
    memo.forget(cached);
    if (!identityRef) {
      // Without credentials nothing can be cleaned up; the cluster (and its Secret) is already gone.
      await ctx.events.event(cached, "Warning", "NoCredentials", "no identityRef and no OpenStackCluster: removing the finalizer without cleanup");
      await removeFinalizerIfPresent(scope);
      return;
    }
    const clients = clientsOf(await sessionFor(ctx, ns, identityRef, opts));
    return reconcileDelete(scope, clients);
  }

  if (!machine) {
    ctx.log.debug("waiting for the owning Machine");
    return;
  }
  if (!cluster || !osc) {
    ctx.log.debug({ cluster: clusterName, openStackCluster: oscName }, "waiting for the Cluster and its OpenStackCluster");
    return;
  }
  if (!osc.status?.initialization?.provisioned) {
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
  if (!identityRef) throw new Error("neither the OpenStackMachine nor its OpenStackCluster has an identityRef");
  if (!cached.metadata?.finalizers?.includes(MACHINE_FINALIZER)) {
    scope.osm = await addFinalizer(ctx.client, OpenStackMachineType, cached, MACHINE_FINALIZER);
  }
  // An ACTIVE server verified with the same inputs needs no polling: status churn costs no OpenStack request.
  if (isSteady(scope.osm) && memo.isVerified(scope.osm, machineFingerprint(scope))) {
    ctx.log.debug("verified recently with the same inputs: no OpenStack request");
    return;
  }
  memo.forget(scope.osm);
  const clients = clientsOf(await sessionFor(ctx, ns, identityRef, opts));
  const result = await reconcileNormal(scope, clients);
  if (!result && isSteady(scope.osm)) memo.record(scope.osm, machineFingerprint(scope));
  return result;
}

async function sessionFor(
  ctx: ReconcileContext,
  namespace: string,
  ref: { name: string; cloudName: string; region?: string },
  opts: MachineControllerOptions,
) {
  try {
    if (opts.sessionFor) return await opts.sessionFor(ctx, namespace, ref);
    return await openStackSessionFor(ctx.client, namespace, ref, { onRequest: ctx.openStackOnRequest });
  } catch (e) {
    throw new Error(`credentials for identityRef ${ref.name}/${ref.cloudName}: ${errorMessage(e)}`);
  }
}
