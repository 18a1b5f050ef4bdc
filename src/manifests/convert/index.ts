import { API_VERSION, GROUP, kindDefinition, validateObject } from "../../api/index.js";
import { describeObject, parseDocuments, stringifyDocuments } from "../yaml.js";
import type { KubeObject } from "../yaml.js";
import {
  CAPI_TARGET,
  convertCluster,
  convertKubeadmConfig,
  convertKubeadmConfigTemplate,
  convertKubeadmControlPlane,
  convertMachine,
  convertMachineDeployment,
  convertMachineHealthCheck,
  groupOf,
} from "./capi.js";
import { isObject, pruneEmpty, Tracker } from "./fields.js";
import type { Fields, JsonObject } from "./fields.js";
import { clusterSpec, generationOf, machineSpec } from "./openstack.js";
import type { SourceGeneration } from "./openstack.js";

export interface ConvertResult {
  objects: KubeObject[];
  /** Each names the object and the field: settings with no equivalent, and anything else the user must check. */
  warnings: string[];
  yaml: string;
}

type SpecConverter = (t: Tracker, spec: Fields, obj: KubeObject) => JsonObject;

const CAPI_CONVERTERS: Record<string, Record<string, SpecConverter>> = {
  "cluster.x-k8s.io": {
    Cluster: (t, s, o) => convertCluster(t, s, o.metadata?.namespace),
    Machine: (t, s, o) => convertMachine(t, s, o.metadata?.namespace),
    MachineDeployment: (t, s, o) => convertMachineDeployment(t, s, o.metadata?.name ?? "", o.metadata?.namespace),
    MachineHealthCheck: (t, s, o) => convertMachineHealthCheck(t, s, o.metadata?.namespace),
  },
  "bootstrap.cluster.x-k8s.io": {
    KubeadmConfigTemplate: (t, s) => convertKubeadmConfigTemplate(t, s),
    KubeadmConfig: (t, s) => convertKubeadmConfig(t, s),
  },
  "controlplane.cluster.x-k8s.io": {
    KubeadmControlPlane: (t, s, o) => convertKubeadmControlPlane(t, s, o.metadata?.namespace),
  },
};

function openstackConverter(kind: string, gen: SourceGeneration): SpecConverter | undefined {
  switch (kind) {
    case "OpenStackCluster":
      return (t, s, o) => clusterSpec(gen, t, s, o.metadata?.namespace);
    case "OpenStackMachine":
      return (t, s, o) => machineSpec(gen, t, s, o.metadata?.namespace);
    case "OpenStackMachineTemplate":
    case "OpenStackClusterTemplate":
      return (t, s, o) => {
        const template = s.sub("template");
        const meta = template.take("metadata");
        const inner = template.sub("spec");
        const spec =
          kind === "OpenStackMachineTemplate"
            ? machineSpec(gen, t, inner, o.metadata?.namespace)
            : clusterSpec(gen, t, inner, o.metadata?.namespace);
        return { template: { ...(isObject(meta) ? { metadata: meta } : {}), spec } };
      };
    default:
      return undefined;
  }
}

/** Server-populated metadata that must not be carried into a manifest. */
const SERVER_METADATA = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"];

function stripUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripUndefined);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = stripUndefined(x);
    return out;
  }
  return v;
}

function convertOne(obj: KubeObject, warnings: string[]): KubeObject {
  const apiVersion = String(obj.apiVersion ?? "");
  const kind = String(obj.kind ?? "");
  const group = groupOf(apiVersion);
  const subject = describeObject(obj);

  let targetVersion: string | undefined;
  let converter: SpecConverter | undefined;
  if (group === GROUP && kindDefinition(kind)) {
    if (apiVersion === API_VERSION) {
      // Already current: nothing to convert, but report what the apiserver would reject or drop.
      for (const issue of validateObject(kind, obj)) warnings.push(`${subject}: not valid: ${issue.path}: ${issue.message}`);
      return obj;
    }
    const gen = generationOf(apiVersion);
    if (!gen) {
      warnings.push(`${subject}: apiVersion ${apiVersion} is not one capo converts (v1alpha3..v1alpha7, v1beta1); passed through unchanged`);
      return obj;
    }
    targetVersion = API_VERSION;
    converter = openstackConverter(kind, gen);
  } else if (CAPI_TARGET[group]) {
    if (apiVersion === CAPI_TARGET[group]) return obj;
    converter = CAPI_CONVERTERS[group]?.[kind];
    if (!converter) {
      warnings.push(`${subject}: capo does not convert ${kind} (${apiVersion}); passed through unchanged`);
      return obj;
    }
    targetVersion = CAPI_TARGET[group];
  } else {
    return obj; // Secrets, ConfigMaps and anything else are not ours to change.
  }

  const t = new Tracker();
  const top = t.open(obj, "");
  top.ignore("apiVersion", "kind");
  const meta = t.open(top.take("metadata"), "metadata");
  meta.ignore(...SERVER_METADATA);
  const metadata: JsonObject = {};
  for (const k of ["name", "namespace", "generateName", "labels", "annotations", "ownerReferences", "finalizers"]) {
    const v = meta.take(k);
    if (v !== undefined) metadata[k] = v;
  }
  const status = top.take("status");
  if (isObject(status) && Object.keys(status).length > 0) {
    t.warn("status: dropped (controllers rebuild status from spec and the cloud)");
  }
  const spec = converter!(t, top.sub("spec"), obj);
  const isOurs = group === GROUP;
  const cleanSpec = (isOurs ? stripUndefined(spec) : (pruneEmpty(spec) ?? {})) as JsonObject;
  // An empty selector is a setting (select every machine of the cluster), and a required one.
  if (kind === "MachineHealthCheck" && isObject(spec["selector"]) && cleanSpec["selector"] === undefined) {
    cleanSpec["selector"] = {};
  }
  const out: KubeObject = { apiVersion: targetVersion, kind, metadata: metadata as KubeObject["metadata"], spec: cleanSpec };
  for (const w of t.finish()) warnings.push(`${subject}: ${w}`);
  if (isOurs) {
    for (const issue of validateObject(kind, out)) {
      warnings.push(`${subject}: converted object is not valid: ${issue.path}: ${issue.message}`);
    }
  }
  return out;
}

/**
 * Rewrites a multi-document bundle to the versions capo serves and works with: our kinds to
 * infrastructure.cluster.x-k8s.io/v1beta2, Cluster API core, kubeadm bootstrap and control plane kinds to v1beta2.
 * Everything else passes through unchanged, in the same order.
 */
export function convertManifests(text: string, source: string): ConvertResult {
  const warnings: string[] = [];
  const objects = parseDocuments(text, source).map((o) => convertOne(o, warnings));
  return { objects, warnings, yaml: stringifyDocuments(objects) };
}
