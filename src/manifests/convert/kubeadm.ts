import { durationSeconds, isObject, put } from "./fields.js";
import type { Fields, JsonObject, Tracker } from "./fields.js";

/** KubeadmConfigSpec (bootstrap v1alpha3..v1beta1) -> bootstrap.cluster.x-k8s.io/v1beta2. */

/** A map of flags becomes v1beta2's list of {name, value}, sorted by name for a stable result. */
export function argsList(v: unknown): { name: string; value: string }[] | undefined {
  if (Array.isArray(v)) return v as { name: string; value: string }[];
  if (!isObject(v)) return undefined;
  return Object.keys(v)
    .sort()
    .map((name) => ({ name, value: String(v[name]) }));
}

function controlPlaneComponent(f: Fields): JsonObject {
  const out: JsonObject = {};
  put(out, "extraArgs", argsList(f.take("extraArgs")));
  put(out, "extraVolumes", f.take("extraVolumes"));
  put(out, "extraEnvs", f.take("extraEnvs"));
  return out;
}

function clusterConfiguration(f: Fields, initTimeouts: JsonObject): JsonObject {
  const out: JsonObject = {};
  f.ignore("apiVersion", "kind");
  const apiServer = f.sub("apiServer");
  const api = controlPlaneComponent(apiServer);
  put(api, "certSANs", apiServer.take("certSANs"));
  const cpTimeout = durationSeconds(apiServer.take("timeoutForControlPlane"));
  if (cpTimeout !== undefined) initTimeouts["controlPlaneComponentHealthCheckSeconds"] = cpTimeout;
  out["apiServer"] = api;
  out["controllerManager"] = controlPlaneComponent(f.sub("controllerManager"));
  out["scheduler"] = controlPlaneComponent(f.sub("scheduler"));

  const etcd = f.sub("etcd");
  const local = etcd.sub("local");
  const localOut: JsonObject = {};
  for (const k of ["imageRepository", "imageTag", "dataDir", "serverCertSANs", "peerCertSANs", "extraEnvs"]) {
    put(localOut, k, local.take(k));
  }
  put(localOut, "extraArgs", argsList(local.take("extraArgs")));
  const external = etcd.take("external");
  out["etcd"] = { local: localOut, external };

  const dns = f.sub("dns");
  dns.ignore("type"); // v1alpha3 "CoreDNS": the only DNS kubeadm still deploys.
  out["dns"] = { imageRepository: dns.take("imageRepository"), imageTag: dns.take("imageTag") };

  for (const k of ["imageRepository", "featureGates", "certificatesDir", "controlPlaneEndpoint"]) put(out, k, f.take(k));
  for (const k of ["caCertificateValidityPeriodDays", "certificateValidityPeriodDays", "encryptionAlgorithm"]) {
    put(out, k, f.take(k));
  }
  f.drop("kubernetesVersion", "set by KubeadmControlPlane/Machine spec.version in v1beta2; dropped");
  f.drop("clusterName", "taken from the Cluster in v1beta2; dropped");
  f.drop("networking", "taken from Cluster spec.clusterNetwork in v1beta2; dropped");
  f.drop("useHyperKubeImage", "hyperkube images no longer exist; dropped");
  return out;
}

function nodeRegistration(f: Fields): JsonObject {
  const out: JsonObject = {};
  for (const k of ["name", "criSocket", "taints", "ignorePreflightErrors", "imagePullPolicy", "imagePullSerial"]) {
    put(out, k, f.take(k));
  }
  put(out, "kubeletExtraArgs", argsList(f.take("kubeletExtraArgs")));
  return out;
}

/** Bootstrap tokens: v1beta2 has ttlSeconds instead of the duration string ttl. */
function bootstrapTokens(t: Tracker, f: Fields): JsonObject[] | undefined {
  const list = f.take("bootstrapTokens");
  if (!Array.isArray(list)) return undefined;
  return list.map((item: unknown, i) => {
    const tf = t.open(item, `${f.join("bootstrapTokens")}[${i}]`);
    const out: JsonObject = {};
    for (const k of ["token", "description", "expires", "usages", "groups"]) put(out, k, tf.take(k));
    put(out, "ttlSeconds", durationSeconds(tf.take("ttl")) ?? tf.take("ttlSeconds"));
    return out;
  });
}

function initConfiguration(t: Tracker, f: Fields, timeouts: JsonObject): JsonObject {
  const out: JsonObject = {};
  f.ignore("apiVersion", "kind");
  out["nodeRegistration"] = nodeRegistration(f.sub("nodeRegistration"));
  put(out, "bootstrapTokens", bootstrapTokens(t, f));
  for (const k of ["localAPIEndpoint", "skipPhases", "patches"]) put(out, k, f.take(k));
  const existing = f.take("timeouts");
  out["timeouts"] = { ...(isObject(existing) ? existing : {}), ...timeouts };
  return out;
}

function joinConfiguration(f: Fields): JsonObject {
  const out: JsonObject = {};
  f.ignore("apiVersion", "kind");
  out["nodeRegistration"] = nodeRegistration(f.sub("nodeRegistration"));
  for (const k of ["caCertPath", "controlPlane", "skipPhases", "patches"]) put(out, k, f.take(k));
  const discovery = f.sub("discovery");
  const timeouts: JsonObject = {};
  const existing = f.take("timeouts");
  if (isObject(existing)) Object.assign(timeouts, existing);
  const tlsTimeout = durationSeconds(discovery.take("timeout"));
  if (tlsTimeout !== undefined) timeouts["tlsBootstrapSeconds"] = tlsTimeout;
  out["discovery"] = {
    bootstrapToken: discovery.take("bootstrapToken"),
    file: discovery.take("file"),
    tlsBootstrapToken: discovery.take("tlsBootstrapToken"),
  };
  out["timeouts"] = timeouts;
  return out;
}

/** Converts a KubeadmConfigSpec; fields are taken from `f`, so leftovers get reported by the tracker. */
export function kubeadmConfigSpec(t: Tracker, f: Fields): JsonObject {
  const out: JsonObject = {};
  const initTimeouts: JsonObject = {};
  if (f.has("clusterConfiguration")) {
    out["clusterConfiguration"] = clusterConfiguration(f.sub("clusterConfiguration"), initTimeouts);
  }
  if (f.has("initConfiguration") || Object.keys(initTimeouts).length > 0) {
    out["initConfiguration"] = initConfiguration(t, f.sub("initConfiguration"), initTimeouts);
  }
  if (f.has("joinConfiguration")) out["joinConfiguration"] = joinConfiguration(f.sub("joinConfiguration"));
  for (const k of [
    "files",
    "diskSetup",
    "mounts",
    "bootCommands",
    "preKubeadmCommands",
    "postKubeadmCommands",
    "users",
    "ntp",
    "format",
    "verbosity",
    "ignition",
  ]) {
    put(out, k, f.take(k));
  }
  f.drop("useExperimentalRetryJoin", "removed in v1beta2 (kubeadm retries joins itself); dropped");
  warnInTreeCloudProvider(t, f.path, out);
  return out;
}

/** The in-tree OpenStack cloud provider is gone from Kubernetes (1.26): say so where the bundle still uses it. */
function warnInTreeCloudProvider(t: Tracker, at: string, spec: JsonObject): void {
  const places: [string, unknown][] = [];
  const cc = spec["clusterConfiguration"] as JsonObject | undefined;
  for (const c of ["apiServer", "controllerManager"]) {
    places.push([`clusterConfiguration.${c}.extraArgs`, (cc?.[c] as JsonObject | undefined)?.["extraArgs"]]);
  }
  for (const c of ["initConfiguration", "joinConfiguration"]) {
    const nr = (spec[c] as JsonObject | undefined)?.["nodeRegistration"] as JsonObject | undefined;
    places.push([`${c}.nodeRegistration.kubeletExtraArgs`, nr?.["kubeletExtraArgs"]]);
  }
  for (const [where, args] of places) {
    if (Array.isArray(args) && args.some((a: { name?: string; value?: string }) => a.name === "cloud-provider" && a.value === "openstack")) {
      t.warn(
        `${at}.${where}: cloud-provider=openstack (in-tree) was removed in Kubernetes 1.26; carried over as is, but newer ` +
          "versions need cloud-provider=external and the OpenStack cloud controller manager",
      );
    }
  }
}
