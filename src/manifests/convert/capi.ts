import { durationSeconds, isObject, put } from "./fields.js";
import type { Fields, JsonObject, Tracker } from "./fields.js";
import { kubeadmConfigSpec } from "./kubeadm.js";

/** Cluster API core, kubeadm bootstrap and kubeadm control plane kinds, v1alpha3..v1beta1 -> v1beta2. */

export const CAPI_TARGET: Readonly<Record<string, string>> = {
  "cluster.x-k8s.io": "cluster.x-k8s.io/v1beta2",
  "bootstrap.cluster.x-k8s.io": "bootstrap.cluster.x-k8s.io/v1beta2",
  "controlplane.cluster.x-k8s.io": "controlplane.cluster.x-k8s.io/v1beta2",
};

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** An ObjectReference/TypedLocalObjectReference becomes v1beta2's ContractVersionedObjectReference. */
export function contractRef(t: Tracker, f: Fields, namespace: string | undefined): JsonObject | undefined {
  const apiVersion = f.take("apiVersion");
  const apiGroup = f.take("apiGroup");
  const kind = f.take("kind");
  const name = f.take("name");
  const ns = f.take("namespace");
  f.ignore("uid", "resourceVersion");
  if (ns !== undefined && ns !== namespace) {
    t.warn(
      `${f.join("namespace")}: v1beta2 references point into the referring object's namespace` +
        `${namespace ? ` (${namespace})` : ""}; ${String(ns)} dropped`,
    );
  }
  if (kind === undefined && name === undefined) return undefined;
  return {
    apiGroup: apiGroup ?? (typeof apiVersion === "string" ? groupOf(apiVersion) : undefined),
    kind,
    name,
  };
}

function deletionTimeouts(f: Fields): JsonObject {
  const out: JsonObject = {};
  put(out, "nodeDrainTimeoutSeconds", durationSeconds(f.take("nodeDrainTimeout")));
  put(out, "nodeVolumeDetachTimeoutSeconds", durationSeconds(f.take("nodeVolumeDetachTimeout")));
  put(out, "nodeDeletionTimeoutSeconds", durationSeconds(f.take("nodeDeletionTimeout")));
  return out;
}

/** A Machine spec (also the template of a MachineDeployment). */
function machineSpec(t: Tracker, f: Fields, namespace: string | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, "clusterName", f.take("clusterName"));
  const bootstrap = f.sub("bootstrap");
  const b: JsonObject = {};
  if (bootstrap.has("configRef")) b["configRef"] = contractRef(t, bootstrap.sub("configRef"), namespace);
  put(b, "dataSecretName", bootstrap.take("dataSecretName"));
  bootstrap.drop("data", "inline bootstrap data is gone in v1beta2: store it in a Secret and set dataSecretName");
  out["bootstrap"] = b;
  if (f.has("infrastructureRef")) out["infrastructureRef"] = contractRef(t, f.sub("infrastructureRef"), namespace);
  for (const k of ["version", "providerID", "failureDomain", "readinessGates", "minReadySeconds"]) put(out, k, f.take(k));
  out["deletion"] = deletionTimeouts(f);
  return out;
}

function objectMeta(f: Fields): JsonObject {
  return { labels: f.take("labels"), annotations: f.take("annotations") };
}

export function convertCluster(t: Tracker, spec: Fields, namespace: string | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, "paused", spec.take("paused"));
  const net = spec.sub("clusterNetwork");
  out["clusterNetwork"] = {
    apiServerPort: net.take("apiServerPort"),
    services: net.take("services"),
    pods: net.take("pods"),
    serviceDomain: net.take("serviceDomain"),
  };
  put(out, "controlPlaneEndpoint", spec.take("controlPlaneEndpoint"));
  if (spec.has("controlPlaneRef")) out["controlPlaneRef"] = contractRef(t, spec.sub("controlPlaneRef"), namespace);
  if (spec.has("infrastructureRef")) out["infrastructureRef"] = contractRef(t, spec.sub("infrastructureRef"), namespace);
  spec.drop("topology", "managed topologies (ClusterClass) are not converted by capo; convert them by hand");
  put(out, "availabilityGates", spec.take("availabilityGates"));
  return out;
}

export function convertKubeadmControlPlane(t: Tracker, spec: Fields, namespace: string | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, "replicas", spec.take("replicas"));
  put(out, "version", spec.take("version"));
  const mt = spec.sub("machineTemplate");
  const mtSpec: JsonObject = {};
  if (spec.has("infrastructureTemplate")) {
    mtSpec["infrastructureRef"] = contractRef(t, spec.sub("infrastructureTemplate"), namespace);
  }
  if (mt.has("infrastructureRef")) mtSpec["infrastructureRef"] = contractRef(t, mt.sub("infrastructureRef"), namespace);
  const deletion = { ...deletionTimeouts(spec), ...deletionTimeouts(mt) };
  mtSpec["deletion"] = deletion;
  out["machineTemplate"] = { metadata: objectMeta(mt.sub("metadata")), spec: mtSpec };
  out["kubeadmConfigSpec"] = kubeadmConfigSpec(t, spec.sub("kubeadmConfigSpec"));

  const rollout: JsonObject = {};
  put(rollout, "after", spec.take("upgradeAfter") ?? spec.take("rolloutAfter"));
  const before = spec.take("rolloutBefore");
  if (isObject(before)) rollout["before"] = before;
  const strategy = spec.take("rolloutStrategy");
  if (isObject(strategy)) rollout["strategy"] = strategy;
  out["rollout"] = rollout;

  const rem = spec.sub("remediationStrategy");
  out["remediation"] = {
    maxRetry: rem.take("maxRetry"),
    retryPeriodSeconds: durationSeconds(rem.take("retryPeriod")),
    minHealthyPeriodSeconds: durationSeconds(rem.take("minHealthyPeriod")),
  };
  const naming = spec.sub("machineNamingStrategy");
  out["machineNaming"] = { template: naming.take("template") };
  return out;
}

export function convertKubeadmConfigTemplate(t: Tracker, spec: Fields): JsonObject {
  const template = spec.sub("template");
  return {
    template: {
      metadata: objectMeta(template.sub("metadata")),
      spec: kubeadmConfigSpec(t, template.sub("spec")),
    },
  };
}

export function convertKubeadmConfig(t: Tracker, spec: Fields): JsonObject {
  return kubeadmConfigSpec(t, spec);
}

export function convertMachine(t: Tracker, spec: Fields, namespace: string | undefined): JsonObject {
  return machineSpec(t, spec, namespace);
}

export function convertMachineDeployment(
  t: Tracker,
  spec: Fields,
  name: string,
  namespace: string | undefined,
): JsonObject {
  const out: JsonObject = {};
  const clusterName = spec.take("clusterName");
  put(out, "clusterName", clusterName);
  put(out, "replicas", spec.take("replicas"));
  put(out, "paused", spec.take("paused"));

  const template = spec.sub("template");
  const meta = objectMeta(template.sub("metadata"));
  const tspec = machineSpec(t, template.sub("spec"), namespace);
  put(tspec, "minReadySeconds", spec.take("minReadySeconds"));

  // What CAPI's defaulting webhook would do for an empty selector: select this deployment's machines.
  const selector = spec.sub("selector");
  let matchLabels = selector.take("matchLabels") as Record<string, string> | undefined;
  const matchExpressions = selector.take("matchExpressions");
  if ((!matchLabels || Object.keys(matchLabels).length === 0) && !matchExpressions) {
    matchLabels = { "cluster.x-k8s.io/cluster-name": String(clusterName ?? ""), "cluster.x-k8s.io/deployment-name": name };
    t.warn(`spec.selector: empty; set to the labels CAPI's defaulting webhook uses (${Object.keys(matchLabels).join(", ")})`);
  }
  const labels = { ...((meta["labels"] as Record<string, string> | undefined) ?? {}), ...(matchLabels ?? {}) };
  if (clusterName !== undefined) labels["cluster.x-k8s.io/cluster-name"] = String(clusterName);
  meta["labels"] = labels;
  out["selector"] = { matchLabels, matchExpressions };
  out["template"] = { metadata: meta, spec: tspec };

  const rollout: JsonObject = {};
  put(rollout, "after", spec.take("rolloutAfter"));
  const strategy = spec.sub("strategy");
  const ru = strategy.sub("rollingUpdate");
  const rollingUpdate = { maxSurge: ru.take("maxSurge"), maxUnavailable: ru.take("maxUnavailable") };
  const type = strategy.take("type");
  const hasRollingUpdate = rollingUpdate.maxSurge !== undefined || rollingUpdate.maxUnavailable !== undefined;
  // v1beta2 requires the type; RollingUpdate was the earlier versions' default.
  if (type !== undefined || hasRollingUpdate) {
    rollout["strategy"] = { type: type ?? "RollingUpdate", rollingUpdate };
  }
  const deletePolicy = ru.take("deletePolicy");
  if (deletePolicy !== undefined) out["deletion"] = { order: deletePolicy };
  const remediation = strategy.sub("remediation");
  out["remediation"] = { maxInFlight: remediation.take("maxInFlight") };
  out["rollout"] = rollout;
  const naming = spec.sub("machineNamingStrategy");
  out["machineNaming"] = { template: naming.take("template") };
  spec.drop("revisionHistoryLimit", "removed in v1beta2 (MachineSets are cleaned up by CAPI); dropped");
  spec.drop("progressDeadlineSeconds", "was never implemented by CAPI and is removed in v1beta2; dropped");
  return out;
}

export function convertMachineHealthCheck(t: Tracker, spec: Fields, namespace: string | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, "clusterName", spec.take("clusterName"));
  put(out, "selector", spec.take("selector"));
  const nodeConditions = spec.take("unhealthyConditions");
  const checks: JsonObject = {
    nodeStartupTimeoutSeconds: durationSeconds(spec.take("nodeStartupTimeout")),
  };
  if (Array.isArray(nodeConditions)) {
    checks["unhealthyNodeConditions"] = nodeConditions.map((c: unknown, i) => {
      const cf = t.open(c, `spec.unhealthyConditions[${i}]`);
      return { type: cf.take("type"), status: cf.take("status"), timeoutSeconds: durationSeconds(cf.take("timeout")) };
    });
  }
  out["checks"] = checks;
  const remediation: JsonObject = {};
  const triggerIf: JsonObject = {};
  put(triggerIf, "unhealthyLessThanOrEqualTo", spec.take("maxUnhealthy"));
  put(triggerIf, "unhealthyInRange", spec.take("unhealthyRange"));
  remediation["triggerIf"] = triggerIf;
  if (spec.has("remediationTemplate")) {
    const rt = spec.sub("remediationTemplate");
    const rns = rt.take("namespace");
    if (rns !== undefined && namespace !== undefined && rns !== namespace) {
      t.warn(`spec.remediationTemplate.namespace: must be the MachineHealthCheck's namespace in v1beta2; ${String(rns)} dropped`);
    }
    remediation["templateRef"] = { apiVersion: rt.take("apiVersion"), kind: rt.take("kind"), name: rt.take("name") };
  }
  out["remediation"] = remediation;
  return out;
}

