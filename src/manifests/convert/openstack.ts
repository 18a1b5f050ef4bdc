import { isObject, put } from "./fields.js";
import type { Fields, JsonObject, Tracker } from "./fields.js";

/**
 * Our kinds, from upstream CAPO's older versions to infrastructure.cluster.x-k8s.io/v1beta2.
 * "legacy" covers v1alpha3..v1alpha7 (flat fields: cloudsSecret, cloudName, nodeCidr, externalNetworkId, flavor and
 * image names...); "v1beta1" is upstream's v1beta1.
 */

export type SourceGeneration = "legacy" | "v1beta1";

export function generationOf(apiVersion: string): SourceGeneration | undefined {
  const v = apiVersion.split("/")[1] ?? "";
  if (/^v1alpha[3-7]$/.test(v)) return "legacy";
  if (v === "v1beta1") return "v1beta1";
  return undefined;
}

function splitTags(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== "string" || v === "") return undefined;
  return v.split(",").map((s) => s.trim()).filter(Boolean);
}

/** A legacy Neutron filter (id, name, tenantId/projectId, comma-separated tags...) -> {id} or {filter}. */
function legacyNeutronParam(f: Fields, extra: readonly string[] = []): JsonObject | undefined {
  const id = f.take("id") ?? f.take("uuid");
  const filter: JsonObject = {};
  put(filter, "name", f.take("name"));
  put(filter, "description", f.take("description"));
  put(filter, "projectID", f.take("projectId") ?? f.take("projectID") ?? f.take("tenantId"));
  for (const k of ["tags", "tagsAny", "notTags", "notTagsAny"]) put(filter, k, splitTags(f.take(k)));
  for (const k of extra) put(filter, k, f.take(k));
  if (id !== undefined && Object.keys(filter).length > 0) {
    f.warn(`${f.path}: both id and filter fields given; v1beta2 accepts one, the id is kept`);
    return { id };
  }
  if (id !== undefined) return { id };
  if (Object.keys(filter).length > 0) return { filter };
  return undefined;
}

const SUBNET_FILTER_KEYS = ["cidr", "ipVersion", "gatewayIP", "ipv6AddressMode", "ipv6RAMode"] as const;

function legacySubnetParam(f: Fields): JsonObject | undefined {
  // v1alpha3/4 SubnetParam is {uuid, filter:{...}}; a SubnetFilter is flat.
  if (f.has("filter") || f.has("uuid")) {
    const uuid = f.take("uuid");
    const inner = legacyNeutronParam(f.sub("filter"), SUBNET_FILTER_KEYS);
    if (uuid !== undefined) return { id: uuid };
    return inner;
  }
  return legacyNeutronParam(f, SUBNET_FILTER_KEYS);
}

function identityRef(t: Tracker, spec: Fields, objectNamespace: string | undefined): JsonObject | undefined {
  const cloudName = spec.take("cloudName");
  let name: unknown;
  if (spec.has("cloudsSecret")) {
    const cs = spec.sub("cloudsSecret");
    name = cs.take("name");
    const ns = cs.take("namespace");
    if (ns !== undefined && objectNamespace !== undefined && ns !== objectNamespace) {
      t.warn(`${cs.join("namespace")}: the identity Secret must be in the object's namespace in v1beta2 (${String(ns)} != ${objectNamespace}); copy the Secret there`);
    }
  }
  if (spec.has("identityRef")) {
    const ir = spec.sub("identityRef");
    name = ir.take("name") ?? name;
    const kind = ir.take("kind") ?? ir.take("type");
    if (kind !== undefined && kind !== "Secret") {
      t.warn(`${ir.join("kind")}: only Secret identities are supported; ${String(kind)} dropped (a Secret named ${String(name)} is assumed)`);
    }
    const cn = ir.take("cloudName");
    const region = ir.take("region");
    return { type: "Secret", name, cloudName: cn ?? cloudName ?? "openstack", ...(region !== undefined ? { region } : {}) };
  }
  if (name === undefined) {
    if (cloudName !== undefined) t.warn(`spec.cloudName: ${String(cloudName)} kept, but no cloudsSecret/identityRef names the Secret`);
    return undefined;
  }
  return { type: "Secret", name, cloudName: cloudName ?? "openstack" };
}

function legacySecurityGroups(t: Tracker, list: unknown, path: string): JsonObject[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((sg: unknown, i) => {
    const f = t.open(sg, `${path}[${i}]`);
    const uuid = f.take("uuid") ?? f.take("id");
    const name = f.take("name");
    if (uuid !== undefined) return [{ id: uuid }];
    if (f.has("filter")) {
      const p = legacyNeutronParam(f.sub("filter"));
      if (p) return [p];
    }
    if (name !== undefined) return [{ filter: { name } }];
    return [];
  });
}

function legacyPort(t: Tracker, f: Fields): JsonObject {
  const out: JsonObject = {};
  const networkId = f.take("networkId") ?? f.take("networkID");
  if (networkId !== undefined) out["network"] = { id: networkId };
  if (f.has("network")) out["network"] = legacyNeutronParam(f.sub("network"));
  for (const k of ["nameSuffix", "description", "adminStateUp", "macAddress", "trunk", "vnicType", "tags"]) {
    put(out, k, f.take(k));
  }
  put(out, "hostID", f.take("hostId") ?? f.take("hostID"));
  const fixed = f.take("fixedIPs") ?? f.take("fixedIps");
  if (Array.isArray(fixed)) {
    out["fixedIPs"] = fixed.map((x: unknown, i) => {
      const ff = t.open(x, `${f.join("fixedIPs")}[${i}]`);
      const r: JsonObject = {};
      const sid = ff.take("subnetId") ?? ff.take("subnetID");
      if (sid !== undefined) r["subnet"] = { id: sid };
      if (ff.has("subnet")) r["subnet"] = legacySubnetParam(ff.sub("subnet"));
      put(r, "ipAddress", ff.take("ipAddress"));
      return r;
    });
  }
  const sgIds = f.take("securityGroups");
  const sgFilters = f.take("securityGroupFilters");
  const sgs = [
    ...(Array.isArray(sgIds) ? sgIds.map((id: unknown) => (isObject(id) ? id : { id })) : []),
    ...(legacySecurityGroups(t, sgFilters, f.join("securityGroupFilters")) ?? []),
  ];
  if (sgs.length > 0) out["securityGroups"] = sgs;
  put(out, "allowedAddressPairs", f.take("allowedAddressPairs"));
  const dps = f.take("disablePortSecurity");
  if (typeof dps === "boolean") out["enablePortSecurity"] = !dps;
  return out;
}

function legacyRootVolume(t: Tracker, f: Fields): JsonObject {
  const out: JsonObject = { sizeGiB: f.take("diskSize") ?? f.take("sizeGiB") };
  put(out, "type", f.take("volumeType"));
  const az = f.take("availabilityZone");
  if (az !== undefined) out["availabilityZone"] = { name: az };
  const sourceType = f.take("sourceType");
  const sourceUUID = f.take("sourceUUID");
  if (sourceUUID !== undefined) {
    t.warn(`${f.join("sourceUUID")}: the root volume is always created from spec.image in v1beta2 (source ${String(sourceType ?? "")} ${String(sourceUUID)}); set spec.image.id if that was the image`);
  }
  f.ignore("deviceType");
  return out;
}

/** An OpenStackMachine spec in v1alpha3..v1alpha7 shape. */
export function legacyMachineSpec(t: Tracker, f: Fields, objectNamespace: string | undefined): JsonObject {
  const out: JsonObject = {};
  put(out, "providerID", f.take("providerID"));
  const flavor = f.take("flavor");
  if (flavor !== undefined) out["flavor"] = { filter: { name: flavor } };
  const imageUUID = f.take("imageUUID");
  const image = f.take("image");
  if (imageUUID !== undefined) out["image"] = { id: imageUUID };
  else if (typeof image === "string") out["image"] = { filter: { name: image } };
  put(out, "sshKeyName", f.take("sshKeyName"));
  const idRef = identityRef(t, f, objectNamespace);
  if (idRef) out["identityRef"] = idRef;

  const ports: JsonObject[] = [];
  const networks = f.take("networks");
  if (Array.isArray(networks)) {
    networks.forEach((n: unknown, i) => {
      const nf = t.open(n, `${f.join("networks")}[${i}]`);
      const port: JsonObject = {};
      const uuid = nf.take("uuid");
      if (uuid !== undefined) port["network"] = { id: uuid };
      else if (nf.has("filter")) port["network"] = legacyNeutronParam(nf.sub("filter"));
      const fixedIp = nf.take("fixedIp");
      const subnets = nf.take("subnets");
      const fixedIPs: JsonObject[] = [];
      if (Array.isArray(subnets)) {
        subnets.forEach((s: unknown, j) => {
          const sp = legacySubnetParam(t.open(s, `${nf.join("subnets")}[${j}]`));
          if (sp) fixedIPs.push({ subnet: sp });
        });
      }
      if (fixedIp !== undefined) fixedIPs.push({ ipAddress: fixedIp });
      if (fixedIPs.length > 0) port["fixedIPs"] = fixedIPs;
      ports.push(port);
    });
  }
  const legacyPorts = f.take("ports");
  if (Array.isArray(legacyPorts)) {
    legacyPorts.forEach((p: unknown, i) => ports.push(legacyPort(t, t.open(p, `${f.join("ports")}[${i}]`))));
  }
  if (f.has("subnet")) {
    const sp = legacySubnetParam(f.sub("subnet"));
    if (sp) {
      if (ports.length === 0) ports.push({ fixedIPs: [{ subnet: sp }] });
      else t.warn(`${f.join("subnet")}: applies to networks/ports already given; set fixedIPs on the port instead`);
    }
  }
  if (ports.length > 0) out["ports"] = ports;

  const sgs = legacySecurityGroups(t, f.take("securityGroups"), f.join("securityGroups"));
  if (sgs && sgs.length > 0) out["securityGroups"] = sgs;
  put(out, "trunk", f.take("trunk"));
  put(out, "tags", f.take("tags"));
  const md = f.take("serverMetadata");
  if (isObject(md)) {
    out["serverMetadata"] = Object.keys(md)
      .sort()
      .map((key) => ({ key, value: String(md[key]) }));
  } else if (Array.isArray(md)) out["serverMetadata"] = md;
  put(out, "configDrive", f.take("configDrive"));
  if (f.has("rootVolume")) {
    const rv = legacyRootVolume(t, f.sub("rootVolume"));
    if (rv["sizeGiB"] !== undefined && rv["sizeGiB"] !== 0) out["rootVolume"] = rv;
  }
  put(out, "additionalBlockDevices", f.take("additionalBlockDevices"));
  const sgID = f.take("serverGroupID");
  if (sgID !== undefined && sgID !== "") out["serverGroup"] = { id: sgID };
  if (f.has("serverGroup")) out["serverGroup"] = legacyNeutronParam(f.sub("serverGroup"));
  f.drop("instanceID", "the server ID is reported in status.instanceID in v1beta2; dropped");
  f.drop("floatingIP", "per-machine floating IPs are not supported in v1beta2 (use apiServer.floatingIP for the API server); dropped");
  f.drop("userDataSecret", "user data comes from the CAPI bootstrap provider; dropped");
  return out;
}

/** identityRef of upstream v1beta1 (type defaults to Secret, as upstream's default does). */
function v1beta1IdentityRef(ir: Fields): JsonObject {
  return {
    type: ir.take("type") ?? "Secret",
    name: ir.take("name"),
    cloudName: ir.take("cloudName"),
    ...(ir.has("region") ? { region: ir.take("region") } : {}),
  };
}

function v1beta1Port(f: Fields): JsonObject {
  const out: JsonObject = {};
  for (const k of [
    "network",
    "description",
    "nameSuffix",
    "fixedIPs",
    "securityGroups",
    "tags",
    "trunk",
    "adminStateUp",
    "macAddress",
    "allowedAddressPairs",
    "hostID",
    "vnicType",
    "profile",
    "propagateUplinkStatus",
    "valueSpecs",
  ]) {
    put(out, k, f.take(k));
  }
  const dps = f.take("disablePortSecurity");
  if (typeof dps === "boolean") out["enablePortSecurity"] = !dps;
  return out;
}

/** Machine spec fields with the same name and shape in upstream v1beta1 and our v1beta2 (both directions use it). */
export const MACHINE_FIELDS_SAME_IN_V1BETA1 = [
  "securityGroups",
  "trunk",
  "tags",
  "serverMetadata",
  "configDrive",
  "rootVolume",
  "additionalBlockDevices",
  "serverGroup",
  "schedulerHintAdditionalProperties",
] as const;

/** An OpenStackMachine spec in upstream v1beta1 shape. */
export function v1beta1MachineSpec(t: Tracker, f: Fields): JsonObject {
  const out: JsonObject = {};
  put(out, "providerID", f.take("providerID"));
  const flavorID = f.take("flavorID");
  const flavor = f.take("flavor");
  if (flavorID !== undefined) out["flavor"] = { id: flavorID };
  else if (typeof flavor === "string") out["flavor"] = { filter: { name: flavor } };
  else if (isObject(flavor)) out["flavor"] = flavor;
  if (f.has("image")) {
    const img = f.sub("image");
    const id = img.take("id");
    const filter = img.take("filter");
    img.drop("imageRef", "ORC image references are not supported by capo; set image.id or image.filter");
    if (id !== undefined) out["image"] = { id };
    else if (filter !== undefined) out["image"] = { filter };
  }
  put(out, "sshKeyName", f.take("sshKeyName"));
  const ports = f.take("ports");
  if (Array.isArray(ports)) out["ports"] = ports.map((p: unknown, i) => v1beta1Port(t.open(p, `${f.join("ports")}[${i}]`)));
  for (const k of MACHINE_FIELDS_SAME_IN_V1BETA1) put(out, k, f.take(k));
  if (f.has("identityRef")) out["identityRef"] = v1beta1IdentityRef(f.sub("identityRef"));
  f.drop("floatingIPPoolRef", "floating IP pools (OpenStackFloatingIPPool) are not supported by capo; dropped");
  return out;
}

export function machineSpec(gen: SourceGeneration, t: Tracker, f: Fields, ns: string | undefined): JsonObject {
  return gen === "legacy" ? legacyMachineSpec(t, f, ns) : v1beta1MachineSpec(t, f);
}

/** The bastion's own settings, named alike in every source version (its machine spec is not). */
function bastionSettings(b: Fields): JsonObject {
  const bastion: JsonObject = {};
  put(bastion, "enabled", b.take("enabled"));
  put(bastion, "availabilityZone", b.take("availabilityZone"));
  put(bastion, "floatingIP", b.take("floatingIP"));
  return bastion;
}

/** spec.managedNetwork from the older flat MTU and disablePortSecurity fields; undefined when neither is set. */
function managedNetwork(mtu: unknown, disablePortSecurity: unknown): JsonObject | undefined {
  const out: JsonObject = {};
  put(out, "mtu", mtu);
  if (typeof disablePortSecurity === "boolean") out["enablePortSecurity"] = !disablePortSecurity;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** An OpenStackCluster spec in v1alpha3..v1alpha7 shape. */
export function legacyClusterSpec(t: Tracker, f: Fields, ns: string | undefined): JsonObject {
  const out: JsonObject = {};
  const idRef = identityRef(t, f, ns);
  if (idRef) out["identityRef"] = idRef;

  const nodeCidr = f.take("nodeCidr");
  const dns = f.take("dnsNameservers");
  if (nodeCidr !== undefined && nodeCidr !== "") {
    const subnet: JsonObject = { cidr: nodeCidr };
    if (Array.isArray(dns) && dns.length > 0) subnet["dnsNameservers"] = dns;
    out["managedSubnets"] = [subnet];
  } else if (Array.isArray(dns) && dns.length > 0) {
    t.warn("spec.dnsNameservers: only used for a subnet the provider creates (nodeCidr), and nodeCidr is not set; dropped");
  }
  if (f.has("network")) {
    const p = legacyNeutronParam(f.sub("network"));
    if (p) out["network"] = p;
  }
  if (f.has("subnet")) {
    const p = legacySubnetParam(f.sub("subnet"));
    if (p) out["subnets"] = [p];
  }
  put(out, "managedNetwork", managedNetwork(f.take("networkMtu") ?? f.take("networkMTU"), f.take("disablePortSecurity")));

  const routerIPs = f.take("externalRouterIPs");
  if (Array.isArray(routerIPs) && routerIPs.length > 0) {
    out["managedRouter"] = {
      externalIPs: routerIPs.map((r: unknown, i) => {
        const rf = t.open(r, `spec.externalRouterIPs[${i}]`);
        const x: JsonObject = {};
        put(x, "fixedIP", rf.take("fixedIP"));
        if (rf.has("subnet")) x["subnet"] = legacySubnetParam(rf.sub("subnet"));
        return x;
      }),
    };
  }
  const extNet = f.take("externalNetworkId") ?? f.take("externalNetworkID");
  if (extNet !== undefined && extNet !== "") out["externalNetwork"] = { id: extNet };
  const disableExt = f.take("disableExternalNetwork");
  if (typeof disableExt === "boolean") out["enableExternalNetwork"] = !disableExt;

  // API server: v1alpha3/4 flat fields, v1alpha5+ apiServerLoadBalancer object.
  const apiServer: JsonObject = {};
  const managedLB = f.take("managedAPIServerLoadBalancer");
  const useOctavia = f.take("useOctavia");
  const lbObj = f.has("apiServerLoadBalancer") ? f.sub("apiServerLoadBalancer") : undefined;
  const lbEnabled = managedLB === true || (lbObj !== undefined && lbObj.has("enabled") && lbObj.take("enabled") === true);
  const lb: JsonObject = { enabled: true };
  const additionalPorts = f.take("apiServerLoadBalancerAdditionalPorts") ?? lbObj?.take("additionalPorts");
  const allowedCIDRs = f.take("apiServerLoadBalancerAllowedCIDRs") ?? lbObj?.take("allowedCidrs") ?? lbObj?.take("allowedCIDRs");
  put(lb, "additionalPorts", additionalPorts);
  put(lb, "allowedCIDRs", allowedCIDRs);
  put(lb, "provider", lbObj?.take("provider"));
  if (lbEnabled) {
    apiServer["managedLoadBalancer"] = lb;
    if (useOctavia === false) {
      t.warn("spec.useOctavia: Neutron LBaaS is gone; the API server load balancer is always an Octavia load balancer in v1beta2");
    }
  } else if (additionalPorts !== undefined || allowedCIDRs !== undefined) {
    t.warn("spec.apiServerLoadBalancer*: load balancer settings without a managed load balancer have no effect; dropped");
  }
  put(apiServer, "floatingIP", f.take("apiServerLoadBalancerFloatingIP") ?? f.take("apiServerFloatingIP"));
  put(apiServer, "port", f.take("apiServerLoadBalancerPort") ?? f.take("apiServerPort"));
  put(apiServer, "fixedIP", f.take("apiServerFixedIP"));
  const disableFip = f.take("disableAPIServerFloatingIP");
  if (typeof disableFip === "boolean") apiServer["enableFloatingIP"] = !disableFip;
  if (Object.keys(apiServer).length > 0) out["apiServer"] = apiServer;

  const msg = f.take("managedSecurityGroups");
  const allowAll = f.take("allowAllInClusterTraffic");
  if (msg === true) {
    out["managedSecurityGroups"] = typeof allowAll === "boolean" ? { allowAllInClusterTraffic: allowAll } : {};
  } else if (allowAll === true) {
    t.warn("spec.allowAllInClusterTraffic: only applies to managed security groups, which are disabled; dropped");
  }
  put(out, "tags", f.take("tags"));
  put(out, "controlPlaneEndpoint", f.take("controlPlaneEndpoint"));
  put(out, "controlPlaneAvailabilityZones", f.take("controlPlaneAvailabilityZones"));
  put(out, "controlPlaneOmitAvailabilityZone", f.take("controlPlaneOmitAvailabilityZone"));
  if (f.has("bastion")) {
    const b = f.sub("bastion");
    const bastion = bastionSettings(b);
    if (b.has("instance")) bastion["spec"] = legacyMachineSpec(t, b.sub("instance"), ns);
    else if (b.has("flavor") || b.has("image")) bastion["spec"] = legacyMachineSpec(t, b, ns);
    out["bastion"] = bastion;
  }
  f.drop("disableServerTags", "servers are always tagged in v1beta2; dropped");
  f.drop("caCert", "the CA certificate is read from the identity Secret's cacert key in v1beta2; dropped");
  return out;
}

/** An OpenStackCluster spec in upstream v1beta1 shape. */
export function v1beta1ClusterSpec(t: Tracker, f: Fields): JsonObject {
  const out: JsonObject = {};
  for (const k of ["managedSubnets", "router", "network", "subnets", "externalNetwork", "tags"]) put(out, k, f.take(k));
  for (const k of ["controlPlaneEndpoint", "controlPlaneAvailabilityZones", "controlPlaneOmitAvailabilityZone"]) {
    put(out, k, f.take(k));
  }
  put(out, "managedNetwork", managedNetwork(f.take("networkMTU"), f.take("disablePortSecurity")));
  const routerIPs = f.take("externalRouterIPs");
  if (Array.isArray(routerIPs) && routerIPs.length > 0) out["managedRouter"] = { externalIPs: routerIPs };
  const disableExt = f.take("disableExternalNetwork");
  if (typeof disableExt === "boolean") out["enableExternalNetwork"] = !disableExt;

  const apiServer: JsonObject = {};
  put(apiServer, "managedLoadBalancer", f.take("apiServerLoadBalancer"));
  const disableFip = f.take("disableAPIServerFloatingIP");
  if (typeof disableFip === "boolean") apiServer["enableFloatingIP"] = !disableFip;
  put(apiServer, "floatingIP", f.take("apiServerFloatingIP"));
  put(apiServer, "fixedIP", f.take("apiServerFixedIP"));
  put(apiServer, "port", f.take("apiServerPort"));
  if (Object.keys(apiServer).length > 0) out["apiServer"] = apiServer;

  if (f.has("managedSecurityGroups")) {
    const m = f.sub("managedSecurityGroups");
    const msg: JsonObject = {};
    put(msg, "clusterNodesSecurityGroupRules", m.take("allNodesSecurityGroupRules"));
    put(msg, "controlPlaneNodesSecurityGroupRules", m.take("controlPlaneNodesSecurityGroupRules"));
    put(msg, "workerNodesSecurityGroupRules", m.take("workerNodesSecurityGroupRules"));
    put(msg, "allowAllInClusterTraffic", m.take("allowAllInClusterTraffic"));
    out["managedSecurityGroups"] = msg;
  }
  if (f.has("bastion")) {
    const b = f.sub("bastion");
    const bastion = bastionSettings(b);
    if (b.has("spec")) bastion["spec"] = v1beta1MachineSpec(t, b.sub("spec"));
    out["bastion"] = bastion;
  }
  if (f.has("identityRef")) out["identityRef"] = v1beta1IdentityRef(f.sub("identityRef"));
  return out;
}

export function clusterSpec(gen: SourceGeneration, t: Tracker, f: Fields, ns: string | undefined): JsonObject {
  return gen === "legacy" ? legacyClusterSpec(t, f, ns) : v1beta1ClusterSpec(t, f);
}
