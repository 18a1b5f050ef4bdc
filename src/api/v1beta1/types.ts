import { Type } from "@sinclair/typebox";
import type { TProperties, TSchema } from "@sinclair/typebox";
import type { CelRule } from "../schema.js";

/**
 * Upstream CAPO v0.14's infrastructure.cluster.x-k8s.io/v1beta1 schema, field for field (names, types, required
 * fields, enums, list types and CEL rules as upstream's CRDs have them), so manifests and clients written for upstream
 * are accepted unchanged. Objects are stored as v1beta2; the conversion webhook (src/conversion) maps between them.
 * Descriptions are short: docs/api.md documents v1beta2, the version to write.
 */

const str = (description: string, o: Record<string, unknown> = {}) => Type.String({ description, ...o });
const int = (description: string, o: Record<string, unknown> = {}) => Type.Integer({ description, ...o });
const bool = (description: string, o: Record<string, unknown> = {}) => Type.Boolean({ description, ...o });
const opt = <T extends TSchema>(s: T) => Type.Optional(s);
const obj = <T extends TProperties>(description: string, props: T, o: Record<string, unknown> = {}) =>
  Type.Object(props, { description, additionalProperties: false, ...o });
const strList = (description: string, listType?: "set" | "atomic", item: TSchema = Type.String()) =>
  Type.Array(item, { description, ...(listType ? { "x-kubernetes-list-type": listType } : {}) });
const mapList = <T extends TSchema>(description: string, item: T, key: string) =>
  Type.Array(item, { description, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key] });
const cel = (rule: string, message: string): CelRule => ({ rule, message });

const neutronTag = Type.String({ minLength: 1, pattern: "^[^,]+$" });
const tagFilters = {
  tags: opt(strList("tags: all of these tags.", "set", neutronTag)),
  tagsAny: opt(strList("tagsAny: any of these tags.", "set", neutronTag)),
  notTags: opt(strList("notTags: none of all these tags.", "set", neutronTag)),
  notTagsAny: opt(strList("notTagsAny: none of any of these tags.", "set", neutronTag)),
};
const baseFilter = {
  name: opt(str("name of the resource.")),
  description: opt(str("description of the resource.")),
  projectID: opt(str("projectID owning the resource.")),
  ...tagFilters,
};

/** An {id} or {filter} parameter: exactly one property, as upstream's minProperties/maxProperties say. */
function param(description: string, filter: TSchema) {
  return obj(
    description,
    { id: opt(str("id of the resource.", { format: "uuid" })), filter: opt(filter) },
    { minProperties: 1, maxProperties: 1 },
  );
}

export const NetworkFilter = obj("NetworkFilter selects a network.", baseFilter, { minProperties: 1 });
export const NetworkParam = param("NetworkParam references a network by id or filter.", NetworkFilter);
const RouterParam = param("RouterParam references a router by id or filter.", obj("RouterFilter selects a router.", baseFilter, { minProperties: 1 }));
const SecurityGroupParam = param(
  "SecurityGroupParam references a security group by id or filter.",
  obj("SecurityGroupFilter selects a security group.", baseFilter, { minProperties: 1 }),
);
export const SubnetParam = param(
  "SubnetParam references a subnet by id or filter.",
  obj(
    "SubnetFilter selects a subnet.",
    {
      ...baseFilter,
      ipVersion: opt(int("ipVersion of the subnet.")),
      gatewayIP: opt(str("gatewayIP of the subnet.")),
      cidr: opt(str("cidr of the subnet.")),
      ipv6AddressMode: opt(str("ipv6AddressMode of the subnet.")),
      ipv6RAMode: opt(str("ipv6RAMode of the subnet.")),
    },
    { minProperties: 1 },
  ),
);

const ImageParam = obj(
  "ImageParam references an image by id, filter or ORC image reference.",
  {
    id: opt(str("id of the image.", { format: "uuid" })),
    filter: opt(
      obj(
        "ImageFilter selects an image.",
        { name: opt(str("name of the image.")), tags: opt(strList("tags of the image.", "set")) },
        { minProperties: 1 },
      ),
    ),
    imageRef: opt(obj("imageRef names an ORC Image.", { name: str("name of the ORC Image.") })),
  },
  { minProperties: 1, maxProperties: 1 },
);

const ServerGroupParam = param(
  "ServerGroupParam references a server group by id or filter.",
  obj("ServerGroupFilter selects a server group.", { name: opt(str("name of the server group.")) }, { minProperties: 1 }),
);

const AddressPair = obj("AddressPair is an allowed address pair of a port.", {
  ipAddress: str("ipAddress allowed on the port."),
  macAddress: opt(str("macAddress allowed on the port.")),
});
const BindingProfile = obj("BindingProfile is the port's binding profile.", {
  ovsHWOffload: opt(bool("ovsHWOffload enables OVS hardware offload.")),
  trustedVF: opt(bool("trustedVF marks an SR-IOV VF as trusted.")),
});
const ValueSpec = obj("ValueSpec is an extra attribute of the port create request.", {
  name: str("name of the value spec."),
  key: str("key in the request."),
  value: str("value in the request."),
});
const resolvedPortSettings = {
  description: opt(str("description of the port.")),
  adminStateUp: opt(bool("adminStateUp of the port.")),
  macAddress: opt(str("macAddress of the port.")),
  allowedAddressPairs: opt(Type.Array(AddressPair, { description: "allowedAddressPairs of the port." })),
  hostID: opt(str("hostID binds the port to a host.")),
  vnicType: opt(str("vnicType of the port.")),
  profile: opt(BindingProfile),
  disablePortSecurity: opt(bool("disablePortSecurity disables port security.")),
  propagateUplinkStatus: opt(bool("propagateUplinkStatus of the port.")),
  valueSpecs: opt(mapList("valueSpecs are extra request attributes.", ValueSpec, "name")),
  tags: opt(strList("tags of the port.", "set")),
  trunk: opt(bool("trunk creates a trunk for the port.")),
};
const { description: _d, ...settingsWithoutDescription } = resolvedPortSettings;
void _d;

export const PortOpts = obj("PortOpts describes a port of a server.", {
  network: opt(NetworkParam),
  description: opt(str("description of the port.")),
  nameSuffix: opt(str("nameSuffix of the port name.")),
  fixedIPs: opt(
    Type.Array(
      obj("FixedIP of the port.", { subnet: opt(SubnetParam), ipAddress: opt(str("ipAddress of the port.")) }),
      { description: "fixedIPs of the port.", "x-kubernetes-list-type": "atomic" },
    ),
  ),
  securityGroups: opt(
    Type.Array(SecurityGroupParam, { description: "securityGroups of the port.", "x-kubernetes-list-type": "atomic" }),
  ),
  ...settingsWithoutDescription,
});

const ResolvedPortSpec = obj(
  "ResolvedPortSpec is a port with its references resolved.",
  {
    name: str("name of the port."),
    description: str("description of the port."),
    networkID: str("networkID of the port."),
    fixedIPs: opt(
      Type.Array(
        obj("ResolvedFixedIP of the port.", { subnet: opt(str("subnet id.")), ipAddress: opt(str("ipAddress.")) }),
        { description: "fixedIPs of the port.", "x-kubernetes-list-type": "atomic" },
      ),
    ),
    securityGroups: opt(strList("securityGroups ids of the port.", "atomic")),
    ...settingsWithoutDescription,
  },
);

const AZ = obj(
  "VolumeAvailabilityZone is the availability zone of a volume.",
  {
    from: opt(str("from: Name or Machine.", { enum: ["Name", "Machine"], default: "Name" })),
    name: opt(str("name of the availability zone.", { minLength: 1, pattern: "^[^ ]+$" })),
  },
  {
    "x-kubernetes-validations": [
      cel("!has(self.from) || self.from == 'Name' ? has(self.name) : !has(self.name)", "name is required when from is 'Name' or default"),
    ],
  },
);

const RootVolume = obj(
  "RootVolume boots the server from a volume.",
  {
    sizeGiB: int("sizeGiB of the volume.", { minimum: 1 }),
    type: opt(str("type of the volume.")),
    availabilityZone: opt(AZ),
  },
);

const AdditionalBlockDevice = obj("AdditionalBlockDevice is an extra disk of the server.", {
  name: str("name of the block device."),
  sizeGiB: int("sizeGiB of the block device.", { minimum: 1 }),
  storage: obj("storage of the block device.", {
    type: str("type: Volume or Local."),
    volume: opt(obj("volume settings.", { type: opt(str("type of the volume.")), availabilityZone: opt(AZ) })),
  }),
});

const SchedulerHint = obj("SchedulerHintAdditionalProperty is a Nova scheduler hint.", {
  name: str("name of the hint.", { minLength: 1 }),
  value: obj(
    "value of the hint.",
    {
      type: str("type of the value.", { enum: ["Bool", "String", "Number"] }),
      bool: opt(bool("bool value.")),
      number: opt(int("number value.")),
      string: opt(str("string value.", { minLength: 1, maxLength: 255 })),
    },
    {
      "x-kubernetes-validations": [
        cel("has(self.type) && self.type == 'Bool' ? has(self.bool) : !has(self.bool)", "bool is required when type is Bool, and forbidden otherwise"),
        cel("has(self.type) && self.type == 'Number' ? has(self.number) : !has(self.number)", "number is required when type is Number, and forbidden otherwise"),
        cel("has(self.type) && self.type == 'String' ? has(self.string) : !has(self.string)", "string is required when type is String, and forbidden otherwise"),
      ],
    },
  ),
});

export const IdentityRef = obj(
  "OpenStackIdentityReference names the credentials to use.",
  {
    type: str("type: Secret or ClusterIdentity.", { enum: ["Secret", "ClusterIdentity"], default: "Secret" }),
    name: str("name of the Secret or ClusterIdentity.", { minLength: 1 }),
    cloudName: str("cloudName in clouds.yaml.", { minLength: 1 }),
    region: opt(str("region of the cloud.")),
  },
  {
    "x-kubernetes-validations": [
      cel("(!has(self.region) && !has(oldSelf.region)) || self.region == oldSelf.region", "region is immutable"),
    ],
  },
);

export const OpenStackMachineSpec = obj(
  "OpenStackMachineSpec (upstream v1beta1).",
  {
    providerID: opt(str("providerID of the machine.")),
    flavor: opt(str("flavor name.", { minLength: 1 })),
    flavorID: opt(str("flavorID.", { minLength: 1 })),
    image: ImageParam,
    sshKeyName: opt(str("sshKeyName to inject.")),
    ports: opt(Type.Array(PortOpts, { description: "ports of the server." })),
    securityGroups: opt(Type.Array(SecurityGroupParam, { description: "securityGroups of the default port." })),
    trunk: opt(bool("trunk enables trunking.")),
    tags: opt(strList("tags of the server.", "set")),
    serverMetadata: opt(
      mapList(
        "serverMetadata of the server.",
        obj("ServerMetadata is one key/value.", {
          key: str("key.", { maxLength: 255 }),
          value: str("value.", { maxLength: 255 }),
        }),
        "key",
      ),
    ),
    configDrive: opt(bool("configDrive enables a config drive.")),
    rootVolume: opt(RootVolume),
    additionalBlockDevices: opt(mapList("additionalBlockDevices of the server.", AdditionalBlockDevice, "name")),
    serverGroup: opt(ServerGroupParam),
    identityRef: opt(IdentityRef),
    floatingIPPoolRef: opt(
      obj("floatingIPPoolRef names an OpenStackFloatingIPPool.", {
        apiGroup: opt(str("apiGroup of the pool.")),
        kind: str("kind of the pool."),
        name: str("name of the pool."),
      }),
    ),
    schedulerHintAdditionalProperties: opt(mapList("schedulerHintAdditionalProperties.", SchedulerHint, "name")),
  },
  { "x-kubernetes-validations": [cel("(has(self.flavor) || has(self.flavorID))", "at least one of flavor or flavorID must be set")] },
);

/** CAPI v1beta1 condition (with severity), as upstream v1beta1 reports them. */
const CapiV1beta1Conditions = Type.Array(
  obj("Condition (Cluster API v1beta1).", {
    type: str("type of the condition.", { minLength: 1, maxLength: 256 }),
    status: str("status: True, False or Unknown."),
    severity: opt(str("severity: Error, Warning or Info.", { maxLength: 32 })),
    lastTransitionTime: str("lastTransitionTime.", { format: "date-time" }),
    reason: opt(str("reason in CamelCase.", { minLength: 1, maxLength: 256 })),
    message: opt(str("message for humans.", { minLength: 1, maxLength: 10240 })),
  }),
  { description: "conditions of the object." },
);

const ResolvedMachineSpec = obj("ResolvedMachineSpec holds resolved references.", {
  serverGroupID: opt(str("serverGroupID.")),
  imageID: opt(str("imageID.")),
  flavorID: opt(str("flavorID.")),
  ports: opt(Type.Array(ResolvedPortSpec, { description: "ports, resolved." })),
});
const MachineResources = obj("MachineResources lists created resources.", {
  ports: opt(Type.Array(obj("PortStatus.", { id: str("id of the port.") }), { description: "ports created." })),
});
const failureAndInit = {
  failureReason: opt(str("failureReason (deprecated).")),
  failureMessage: opt(str("failureMessage (deprecated).")),
  initialization: opt(obj("initialization status.", { provisioned: opt(bool("provisioned is true once provisioned.")) })),
};

export const OpenStackMachineStatus = obj("OpenStackMachineStatus (upstream v1beta1).", {
  ready: opt(bool("ready is true when the machine is ready.")),
  instanceID: opt(str("instanceID of the server.")),
  addresses: opt(
    Type.Array(obj("NodeAddress.", { type: str("type of address."), address: str("the address.") }), {
      description: "addresses of the server.",
    }),
  ),
  instanceState: opt(str("instanceState of the server.")),
  resolved: opt(ResolvedMachineSpec),
  resources: opt(MachineResources),
  conditions: opt(CapiV1beta1Conditions),
  ...failureAndInit,
});

const SecurityGroupRule = obj("SecurityGroupRuleSpec is a rule of a managed security group.", {
  name: str("name of the rule."),
  description: opt(str("description of the rule.")),
  direction: str("direction: ingress or egress.", { enum: ["ingress", "egress"] }),
  etherType: opt(str("etherType: IPv4 or IPv6.", { enum: ["IPv4", "IPv6"] })),
  portRangeMin: opt(int("portRangeMin.")),
  portRangeMax: opt(int("portRangeMax.")),
  protocol: opt(str("protocol.")),
  remoteGroupID: opt(str("remoteGroupID.")),
  remoteIPPrefix: opt(str("remoteIPPrefix.")),
  remoteManagedGroups: opt(
    Type.Array(Type.String({ enum: ["bastion", "controlplane", "worker"] }), { description: "remoteManagedGroups." }),
  ),
});
const rules = (d: string) => opt(mapList(d, SecurityGroupRule, "name"));

export const OpenStackClusterSpec = obj(
  "OpenStackClusterSpec (upstream v1beta1).",
  {
    managedSubnets: opt(
      Type.Array(
        obj("SubnetSpec of a subnet to create.", {
          cidr: str("cidr of the subnet."),
          dnsNameservers: opt(strList("dnsNameservers of the subnet.")),
          allocationPools: opt(
            Type.Array(obj("AllocationPool.", { start: str("start address."), end: str("end address.") }), {
              description: "allocationPools of the subnet.",
            }),
          ),
        }),
        { description: "managedSubnets to create.", maxItems: 1, "x-kubernetes-list-type": "atomic" },
      ),
    ),
    router: opt(RouterParam),
    network: opt(NetworkParam),
    networkMTU: opt(int("networkMTU of the created network.")),
    subnets: opt(Type.Array(SubnetParam, { description: "subnets to use.", maxItems: 2, "x-kubernetes-list-type": "atomic" })),
    externalRouterIPs: opt(
      Type.Array(
        obj("ExternalRouterIPParam.", { fixedIP: opt(str("fixedIP on the external network.")), subnet: SubnetParam }),
        { description: "externalRouterIPs of the router.", "x-kubernetes-list-type": "atomic" },
      ),
    ),
    externalNetwork: opt(NetworkParam),
    disableExternalNetwork: opt(bool("disableExternalNetwork: no external network.")),
    apiServerLoadBalancer: opt(
      obj("APIServerLoadBalancer settings.", {
        enabled: bool("enabled creates the load balancer.", { default: true }),
        additionalPorts: opt(strList("additionalPorts.", "set", Type.Integer())),
        allowedCIDRs: opt(strList("allowedCIDRs.", "set")),
        provider: opt(str("provider of Octavia.")),
        network: opt(NetworkParam),
        subnets: opt(Type.Array(SubnetParam, { description: "subnets for the VIP.", "x-kubernetes-list-type": "atomic" })),
        availabilityZone: opt(str("availabilityZone of the load balancer.")),
        flavor: opt(str("flavor of the load balancer.")),
        monitor: opt(
          obj("APIServerLoadBalancerMonitor.", {
            delay: opt(int("delay.", { minimum: 0 })),
            timeout: opt(int("timeout.", { minimum: 0 })),
            maxRetries: opt(int("maxRetries.", { minimum: 0, maximum: 10 })),
            maxRetriesDown: opt(int("maxRetriesDown.", { minimum: 1, maximum: 10 })),
          }),
        ),
      }),
    ),
    disableAPIServerFloatingIP: opt(bool("disableAPIServerFloatingIP.")),
    apiServerFloatingIP: opt(str("apiServerFloatingIP.")),
    apiServerFixedIP: opt(str("apiServerFixedIP.")),
    apiServerPort: opt(int("apiServerPort.", { minimum: 0, maximum: 65535 })),
    managedSecurityGroups: opt(
      obj("ManagedSecurityGroups settings.", {
        allNodesSecurityGroupRules: rules("allNodesSecurityGroupRules."),
        controlPlaneNodesSecurityGroupRules: rules("controlPlaneNodesSecurityGroupRules."),
        workerNodesSecurityGroupRules: rules("workerNodesSecurityGroupRules."),
        allowAllInClusterTraffic: bool("allowAllInClusterTraffic.", { default: false }),
      }),
    ),
    disablePortSecurity: opt(bool("disablePortSecurity.")),
    tags: opt(strList("tags of created resources.", "set")),
    controlPlaneEndpoint: opt(
      obj("APIEndpoint of the control plane.", {
        host: opt(str("host.", { maxLength: 512 })),
        port: opt(int("port.", { format: "int32" })),
      }),
    ),
    controlPlaneAvailabilityZones: opt(strList("controlPlaneAvailabilityZones.", "set")),
    controlPlaneOmitAvailabilityZone: opt(bool("controlPlaneOmitAvailabilityZone.")),
    bastion: opt(
      obj(
        "Bastion settings.",
        {
          enabled: opt(bool("enabled.", { default: true })),
          spec: opt(OpenStackMachineSpec),
          availabilityZone: opt(str("availabilityZone.")),
          floatingIP: opt(str("floatingIP.", { format: "ipv4" })),
        },
        { "x-kubernetes-validations": [cel("!self.enabled || has(self.spec)", "spec is required if bastion is enabled")] },
      ),
    ),
    identityRef: IdentityRef,
  },
  {
    "x-kubernetes-validations": [
      cel(
        "has(self.disableExternalNetwork) && self.disableExternalNetwork ? !has(self.bastion) || !has(self.bastion.floatingIP) : true",
        "bastion floating IP cannot be set when disableExternalNetwork is true",
      ),
      cel(
        "has(self.disableExternalNetwork) && self.disableExternalNetwork ? has(self.disableAPIServerFloatingIP) && self.disableAPIServerFloatingIP : true",
        "disableAPIServerFloatingIP cannot be false when disableExternalNetwork is true",
      ),
    ],
  },
);

const named = (d: string) => obj(d, { id: str("id."), name: str("name.") });
const tagged = { tags: opt(strList("tags.")) };
const Subnet = obj("Subnet status.", { name: str("name."), id: str("id."), cidr: str("cidr."), ...tagged });
const NetworkStatusWithSubnets = obj("NetworkStatusWithSubnets.", {
  name: str("name."),
  id: str("id."),
  ...tagged,
  subnets: opt(Type.Array(Subnet, { description: "subnets." })),
});

export const OpenStackClusterStatus = obj(
  "OpenStackClusterStatus (upstream v1beta1).",
  {
    ready: bool("ready is true when the cluster infrastructure is ready.", { default: false }),
    network: opt(NetworkStatusWithSubnets),
    externalNetwork: opt(obj("NetworkStatus.", { name: str("name."), id: str("id."), ...tagged })),
    router: opt(obj("Router status.", { name: str("name."), id: str("id."), ...tagged, ips: opt(strList("ips.")) })),
    apiServerLoadBalancer: opt(
      obj("LoadBalancer status.", {
        name: str("name."),
        id: str("id."),
        ip: str("ip."),
        internalIP: str("internalIP."),
        allowedCIDRs: opt(strList("allowedCIDRs.")),
        ...tagged,
        loadBalancerNetwork: opt(NetworkStatusWithSubnets),
      }),
    ),
    failureDomains: opt(
      Type.Record(
        Type.String(),
        obj("FailureDomainSpec (Cluster API v1beta1).", {
          controlPlane: opt(bool("controlPlane may host control plane machines.")),
          attributes: opt(Type.Record(Type.String(), Type.String(), { description: "attributes." })),
        }),
        { description: "failureDomains of the cluster." },
      ),
    ),
    controlPlaneSecurityGroup: opt(named("SecurityGroupStatus.")),
    workerSecurityGroup: opt(named("SecurityGroupStatus.")),
    bastionSecurityGroup: opt(named("SecurityGroupStatus.")),
    bastion: opt(
      obj("BastionStatus.", {
        id: opt(str("id.")),
        name: opt(str("name.")),
        sshKeyName: opt(str("sshKeyName.")),
        state: opt(str("state.")),
        ip: opt(str("ip.")),
        floatingIP: opt(str("floatingIP.")),
        resolved: opt(ResolvedMachineSpec),
        resources: opt(MachineResources),
      }),
    ),
    conditions: opt(CapiV1beta1Conditions),
    ...failureAndInit,
  },
);

const QUANTITY =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
const meta = {
  apiVersion: opt(Type.String({ description: "APIVersion of the object." })),
  kind: opt(Type.String({ description: "Kind of the object." })),
  metadata: opt(Type.Object({}, { description: "Standard object metadata." })),
};

export const OpenStackClusterV1beta1 = obj("OpenStackCluster (upstream v1beta1).", {
  ...meta,
  spec: opt(OpenStackClusterSpec),
  status: opt(OpenStackClusterStatus),
});
export const OpenStackMachineV1beta1 = obj("OpenStackMachine (upstream v1beta1).", {
  ...meta,
  spec: opt(OpenStackMachineSpec),
  status: opt(OpenStackMachineStatus),
});
export const OpenStackClusterTemplateV1beta1 = obj("OpenStackClusterTemplate (upstream v1beta1).", {
  ...meta,
  spec: opt(obj("OpenStackClusterTemplateSpec.", { template: obj("template.", { spec: OpenStackClusterSpec }) })),
});
export const OpenStackMachineTemplateV1beta1 = obj("OpenStackMachineTemplate (upstream v1beta1).", {
  ...meta,
  spec: obj("OpenStackMachineTemplateSpec.", {
    template: obj("template.", { spec: OpenStackMachineSpec }),
  }),
  status: opt(
    obj("OpenStackMachineTemplateStatus.", {
      capacity: opt(
        Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()], { "x-kubernetes-int-or-string": true, pattern: QUANTITY }), {
          description: "capacity of a machine from this template.",
        }),
      ),
      nodeInfo: opt(obj("nodeInfo.", { operatingSystem: opt(str("operatingSystem.")) }, { minProperties: 1 })),
    }),
  ),
});
