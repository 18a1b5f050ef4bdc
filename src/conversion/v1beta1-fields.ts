import type { JsonObject } from "../manifests/convert/fields.js";
import { isObject, put } from "../manifests/convert/fields.js";
import { MACHINE_FIELDS_SAME_IN_V1BETA1 } from "../manifests/convert/openstack.js";

/**
 * v1beta2 -> upstream v1beta1, field by field: the inverse of src/manifests/convert/openstack.ts's v1beta1 mappers,
 * and both directions of status (which `capo convert` drops for files, but live objects carry).
 * What has no equivalent is not handled here: src/conversion/convert-object.ts keeps it in an annotation.
 */

const not = (v: unknown): boolean | undefined => (typeof v === "boolean" ? !v : undefined);

function copy(out: JsonObject, from: JsonObject, keys: readonly string[]): void {
  for (const k of keys) put(out, k, from[k]);
}

function portToV1beta1(p: unknown): unknown {
  if (!isObject(p)) return p;
  const { enablePortSecurity, ...rest } = p;
  const out: JsonObject = { ...rest };
  put(out, "disablePortSecurity", not(enablePortSecurity));
  return out;
}

function portToV1beta2(p: unknown): unknown {
  if (!isObject(p)) return p;
  const { disablePortSecurity, ...rest } = p;
  const out: JsonObject = { ...rest };
  put(out, "enablePortSecurity", not(disablePortSecurity));
  return out;
}

const mapList = (v: unknown, f: (x: unknown) => unknown): unknown => (Array.isArray(v) ? v.map(f) : undefined);

export function machineSpecToV1beta1(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  put(out, "providerID", s["providerID"]);
  const flavor = s["flavor"];
  if (isObject(flavor)) {
    put(out, "flavorID", flavor["id"]);
    if (isObject(flavor["filter"])) put(out, "flavor", flavor["filter"]["name"]);
  }
  put(out, "image", s["image"]);
  put(out, "sshKeyName", s["sshKeyName"]);
  put(out, "ports", mapList(s["ports"], portToV1beta1));
  copy(out, s, [...MACHINE_FIELDS_SAME_IN_V1BETA1, "identityRef"]);
  return out;
}

export function clusterSpecToV1beta1(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  copy(out, s, ["managedSubnets", "router", "network", "subnets", "externalNetwork", "tags"]);
  const mn = isObject(s["managedNetwork"]) ? s["managedNetwork"] : {};
  put(out, "networkMTU", mn["mtu"]);
  put(out, "disablePortSecurity", not(mn["enablePortSecurity"]));
  if (isObject(s["managedRouter"])) put(out, "externalRouterIPs", s["managedRouter"]["externalIPs"]);
  put(out, "disableExternalNetwork", not(s["enableExternalNetwork"]));
  const api = isObject(s["apiServer"]) ? s["apiServer"] : {};
  put(out, "apiServerLoadBalancer", api["managedLoadBalancer"]);
  put(out, "disableAPIServerFloatingIP", not(api["enableFloatingIP"]));
  put(out, "apiServerFloatingIP", api["floatingIP"]);
  put(out, "apiServerFixedIP", api["fixedIP"]);
  put(out, "apiServerPort", api["port"]);
  const msg = s["managedSecurityGroups"];
  if (isObject(msg)) {
    const m: JsonObject = {};
    put(m, "allNodesSecurityGroupRules", msg["clusterNodesSecurityGroupRules"]);
    copy(m, msg, ["controlPlaneNodesSecurityGroupRules", "workerNodesSecurityGroupRules", "allowAllInClusterTraffic"]);
    out["managedSecurityGroups"] = m;
  }
  copy(out, s, ["controlPlaneEndpoint", "controlPlaneAvailabilityZones", "controlPlaneOmitAvailabilityZone"]);
  const b = s["bastion"];
  if (isObject(b)) {
    const bastion: JsonObject = {};
    copy(bastion, b, ["enabled", "availabilityZone", "floatingIP"]);
    if (isObject(b["spec"])) bastion["spec"] = machineSpecToV1beta1(b["spec"]);
    out["bastion"] = bastion;
  }
  put(out, "identityRef", s["identityRef"]);
  return out;
}

/** metav1.Condition -> Cluster API v1beta1 Condition (severity only on False, empty strings omitted). */
function conditionToV1beta1(c: unknown): unknown {
  if (!isObject(c)) return c;
  const out: JsonObject = { type: c["type"], status: c["status"], lastTransitionTime: c["lastTransitionTime"] };
  if (c["status"] === "False") out["severity"] = "Warning";
  if (c["reason"]) out["reason"] = c["reason"];
  if (c["message"]) out["message"] = c["message"];
  return out;
}

/** Cluster API v1beta1 Condition -> metav1.Condition, which requires a reason and a message. */
function conditionToV1beta2(c: unknown): unknown {
  if (!isObject(c)) return c;
  const reason = typeof c["reason"] === "string" && c["reason"] !== "" ? c["reason"] : String(c["status"] ?? "Unknown");
  return {
    type: c["type"],
    status: c["status"],
    lastTransitionTime: c["lastTransitionTime"],
    reason,
    message: typeof c["message"] === "string" ? c["message"] : "",
  };
}

function resolvedToV1beta1(r: unknown): unknown {
  if (!isObject(r)) return r;
  const out: JsonObject = { ...r };
  put(out, "ports", mapList(r["ports"], portToV1beta1));
  return out;
}

function resolvedToV1beta2(r: unknown): unknown {
  if (!isObject(r)) return r;
  const out: JsonObject = { ...r };
  put(out, "ports", mapList(r["ports"], portToV1beta2));
  return out;
}

function provisioned(s: JsonObject): boolean {
  return isObject(s["initialization"]) && s["initialization"]["provisioned"] === true;
}

const SHARED_MACHINE_STATUS = ["instanceID", "addresses", "instanceState", "resources", "initialization", "failureReason", "failureMessage"];

export function machineStatusToV1beta1(s: JsonObject): JsonObject {
  const out: JsonObject = { ready: provisioned(s) };
  copy(out, s, SHARED_MACHINE_STATUS);
  put(out, "resolved", resolvedToV1beta1(s["resolved"]));
  put(out, "conditions", mapList(s["conditions"], conditionToV1beta1));
  return out;
}

export function machineStatusToV1beta2(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  copy(out, s, SHARED_MACHINE_STATUS);
  if (s["ready"] === true && !isObject(s["initialization"])) out["initialization"] = { provisioned: true };
  put(out, "resolved", resolvedToV1beta2(s["resolved"]));
  put(out, "conditions", mapList(s["conditions"], conditionToV1beta2));
  return out;
}

const SHARED_CLUSTER_STATUS = [
  "network",
  "externalNetwork",
  "router",
  "controlPlaneSecurityGroup",
  "workerSecurityGroup",
  "bastionSecurityGroup",
  "initialization",
];

function bastionStatus(b: unknown, resolved: (r: unknown) => unknown): unknown {
  if (!isObject(b)) return b;
  const out: JsonObject = { ...b };
  put(out, "resolved", resolved(b["resolved"]));
  return out;
}

export function clusterStatusToV1beta1(s: JsonObject): JsonObject {
  const out: JsonObject = { ready: provisioned(s) };
  copy(out, s, SHARED_CLUSTER_STATUS);
  put(out, "apiServerLoadBalancer", s["apiServerManagedLoadBalancer"]);
  if (Array.isArray(s["failureDomains"])) {
    const fds: JsonObject = {};
    for (const fd of s["failureDomains"]) {
      if (!isObject(fd) || typeof fd["name"] !== "string") continue;
      const { name, ...rest } = fd;
      fds[name as string] = rest;
    }
    out["failureDomains"] = fds;
  }
  put(out, "bastion", bastionStatus(s["bastion"], resolvedToV1beta1));
  put(out, "conditions", mapList(s["conditions"], conditionToV1beta1));
  return out;
}

export function clusterStatusToV1beta2(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  copy(out, s, SHARED_CLUSTER_STATUS);
  if (s["ready"] === true && !isObject(s["initialization"])) out["initialization"] = { provisioned: true };
  put(out, "apiServerManagedLoadBalancer", s["apiServerLoadBalancer"]);
  const fds = s["failureDomains"];
  if (isObject(fds)) {
    out["failureDomains"] = Object.keys(fds)
      .sort()
      .map((name) => ({ name, ...(isObject(fds[name]) ? fds[name] : {}) }));
  }
  put(out, "bastion", bastionStatus(s["bastion"], resolvedToV1beta2));
  put(out, "conditions", mapList(s["conditions"], conditionToV1beta2));
  return out;
}
