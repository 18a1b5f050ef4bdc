import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import {
  Bool,
  CIDR,
  IdOrFilter,
  Int32,
  IPAddress,
  List,
  MaxLen,
  NonEmptyStr,
  Obj,
  Str,
  StringSet,
  celRule,
  isRecord,
} from "./schema.js";

/** Types shared by OpenStackCluster and OpenStackMachine (upstream CAPO v1beta2 api/v1beta2/types.go). */

const NeutronTag = Type.String({ minLength: 1, maxLength: MaxLen.tag, pattern: "^[^,]+$" });

function tagFilters(what: string) {
  return {
    tags: Type.Optional(
      List(`tags: the ${what} must have all of these tags.`, NeutronTag, "set", { maxItems: 32 }),
    ),
    tagsAny: Type.Optional(
      List(`tagsAny: the ${what} must have at least one of these tags.`, NeutronTag, "set", { maxItems: 32 }),
    ),
    notTags: Type.Optional(
      List(`notTags: ${what}s having all of these tags are excluded.`, NeutronTag, "set", { maxItems: 32 }),
    ),
    notTagsAny: Type.Optional(
      List(`notTagsAny: ${what}s having any of these tags are excluded.`, NeutronTag, "set", { maxItems: 32 }),
    ),
  };
}

function nameDescProject(what: string) {
  return {
    name: Type.Optional(Str(`name filters ${what}s by name.`)),
    description: Type.Optional(Str(`description filters ${what}s by description.`)),
    projectID: Type.Optional(Str(`projectID filters ${what}s by project ID.`)),
  };
}

export const NetworkFilter = Obj(
  "NetworkFilter selects an OpenStack network; at least one property must be set.",
  { ...nameDescProject("network"), ...tagFilters("network") },
  { minProperties: 1 },
);

export const NetworkParam = IdOrFilter(
  "NetworkParam specifies an OpenStack network by id or by filter, not both.",
  "id is the UUID of the network.",
  NetworkFilter,
);
export type NetworkParam = Static<typeof NetworkParam>;

export const SubnetFilter = Obj(
  "SubnetFilter selects a subnet; at least one property must be set.",
  {
    ...nameDescProject("subnet"),
    ipVersion: Type.Optional(Int32("ipVersion filters subnets by IP version (4 or 6).", { enum: [4, 6] })),
    gatewayIP: Type.Optional(Str("gatewayIP filters subnets by gateway IP.", { maxLength: MaxLen.ip })),
    cidr: Type.Optional(Str("cidr filters subnets by CIDR.", { maxLength: 64 })),
    ipv6AddressMode: Type.Optional(Str("ipv6AddressMode filters subnets by IPv6 address mode.")),
    ipv6RAMode: Type.Optional(Str("ipv6RAMode filters subnets by IPv6 router advertisement mode.")),
    ...tagFilters("subnet"),
  },
  { minProperties: 1 },
);

export const SubnetParam = IdOrFilter(
  "SubnetParam specifies an OpenStack subnet by id or by filter, not both.",
  "id is the UUID of the subnet.",
  SubnetFilter,
);
export type SubnetParam = Static<typeof SubnetParam>;

export const RouterFilter = Obj(
  "RouterFilter selects a router; at least one property must be set.",
  { ...nameDescProject("router"), ...tagFilters("router") },
  { minProperties: 1 },
);

export const RouterParam = IdOrFilter(
  "RouterParam specifies an OpenStack router by id or by filter, not both.",
  "id is the UUID of the router.",
  RouterFilter,
);

export const SecurityGroupFilter = Obj(
  "SecurityGroupFilter selects a security group; at least one property must be set.",
  { ...nameDescProject("security group"), ...tagFilters("security group") },
  { minProperties: 1 },
);

export const SecurityGroupParam = IdOrFilter(
  "SecurityGroupParam specifies an OpenStack security group by id or by filter, not both.",
  "id is the UUID of the security group.",
  SecurityGroupFilter,
);

export const ImageFilter = Obj(
  "ImageFilter selects a Glance image; the combination of name and tags must match exactly one image.",
  {
    name: Type.Optional(Str("name is the name of the image.")),
    tags: Type.Optional(StringSet("tags the image must have.", { maxItems: 32 })),
  },
  { minProperties: 1 },
);

export const ImageParam = IdOrFilter(
  "ImageParam specifies a Glance image by id or by filter, not both.",
  "id is the UUID of the image. It is not checked before use.",
  ImageFilter,
);
export type ImageParam = Static<typeof ImageParam>;

export const FlavorFilter = Obj(
  "FlavorFilter selects a Nova flavor; it must match exactly one flavor.",
  { name: Type.Optional(NonEmptyStr("name is the name of the flavor.")) },
  { minProperties: 1 },
);

export const FlavorParam = IdOrFilter(
  "FlavorParam specifies a Nova flavor by id or by filter, not both.",
  "id is the ID of the flavor. It is not checked before use (flavor IDs need not be UUIDs).",
  FlavorFilter,
  false,
);
export type FlavorParam = Static<typeof FlavorParam>;

export const ServerGroupFilter = Obj(
  "ServerGroupFilter selects a Nova server group.",
  { name: Type.Optional(NonEmptyStr("name is the name of the server group.")) },
  { minProperties: 1 },
);

export const ServerGroupParam = IdOrFilter(
  "ServerGroupParam specifies a Nova server group by id or by filter, not both.",
  "id is the UUID of the server group.",
  ServerGroupFilter,
);

export const OpenStackIdentityReference = Obj(
  "OpenStackIdentityReference names the Secret holding the clouds.yaml (and optional cacert) used to talk to OpenStack.",
  {
    type: Type.Optional(
      Type.String({
        description:
          "type of the identity reference. Only Secret is supported (upstream's ClusterIdentity is not served).",
        enum: ["Secret"],
        default: "Secret",
      }),
    ),
    name: NonEmptyStr(
      "name of a Secret in the same namespace. It must hold the key `clouds.yaml` and may hold `cacert` (PEM).",
      { maxLength: 253 },
    ),
    cloudName: NonEmptyStr("cloudName is the entry of clouds.yaml to use."),
    region: Type.Optional(
      Str("region overrides the region in clouds.yaml. For a machine it is also part of its providerID."),
    ),
  },
  {
    "x-kubernetes-validations": [
      celRule(
        "(!has(self.region) && !has(oldSelf.region)) || (has(self.region) && has(oldSelf.region) && self.region == oldSelf.region)",
        "region is immutable",
      ),
    ],
  },
);
export type OpenStackIdentityReference = Static<typeof OpenStackIdentityReference>;

export const FixedIP = Obj("FixedIP is a subnet and/or address for a port.", {
  subnet: Type.Optional(SubnetParam),
  ipAddress: Type.Optional(IPAddress("ipAddress is a specific address to give the port; it must be in the subnet.")),
});

export const AddressPair = Obj("AddressPair is an allowed address pair of a port.", {
  ipAddress: NonEmptyStr("ipAddress (or CIDR, if Neutron allows it) the port may send traffic from.", {
    maxLength: 64,
  }),
  macAddress: Type.Optional(Str("macAddress of the pair; defaults to the port's MAC address.", { maxLength: 32 })),
});

export const BindingProfile = Obj("BindingProfile holds the supported binding:profile keys of a port.", {
  ovsHWOffload: Type.Optional(Bool("ovsHWOffload enables OVS hardware offload.")),
  trustedVF: Type.Optional(Bool("trustedVF enables trusted mode for the VF.")),
});

export const ValueSpec = Obj("ValueSpec is an extra key/value sent with the Neutron port create request.", {
  name: NonEmptyStr("name identifies the pair; it is not sent to OpenStack."),
  key: NonEmptyStr("key sent to OpenStack."),
  value: NonEmptyStr("value sent to OpenStack.", { maxLength: MaxLen.long }),
});

/** The port fields that contain no references, shared by PortOpts and ResolvedPortSpec (as upstream). */
const resolvedPortSpecFields = {
  adminStateUp: Type.Optional(Bool("adminStateUp creates the port up (true, the default) or down (false).")),
  macAddress: Type.Optional(Str("macAddress of the port; generated if not set.", { maxLength: 32 })),
  allowedAddressPairs: Type.Optional(
    List("allowedAddressPairs the port may send traffic from, in addition to its own addresses.", AddressPair, "atomic", {
      maxItems: 32,
    }),
  ),
  hostID: Type.Optional(Str("hostID is the host the port resides on.")),
  vnicType: Type.Optional(
    Str(
      "vnicType is the vNIC type to bind (normal, macvtap, direct, baremetal, direct-physical, virtio-forwarder, " +
        "smart-nic, remote-managed); not validated, so that future Neutron values work.",
      { maxLength: 64 },
    ),
  ),
  profile: Type.Optional(BindingProfile),
  enablePortSecurity: Type.Optional(
    Bool("enablePortSecurity enables or disables port security; when unset the network's setting applies."),
  ),
  propagateUplinkStatus: Type.Optional(Bool("propagateUplinkStatus enables uplink status propagation.")),
  valueSpecs: Type.Optional(
    List("valueSpecs are extra parameters for the Neutron request.", ValueSpec, { mapKeys: ["name"] }, { maxItems: 16 }),
  ),
};

export const PortOpts = Obj("PortOpts describes a port to create (or adopt, by name) for a server.", {
  network: Type.Optional(NetworkParam),
  description: Type.Optional(Str("description of the port.")),
  nameSuffix: Type.Optional(
    Str("nameSuffix is appended to the port name; by default the port's 0-based index is used.", { maxLength: 64 }),
  ),
  fixedIPs: Type.Optional(List("fixedIPs to assign to the port.", FixedIP, "atomic", { maxItems: 16 })),
  securityGroups: Type.Optional(
    List("securityGroups to apply to the port.", SecurityGroupParam, "atomic", { maxItems: 16 }),
  ),
  tags: Type.Optional(StringSet("tags applied to the port (and its trunk), in addition to the machine's tags.", { maxItems: 32 })),
  trunk: Type.Optional(Bool("trunk enables trunking for this port; defaults to the machine's trunk setting.")),
  ...resolvedPortSpecFields,
});
export type PortOpts = Static<typeof PortOpts>;

export const ResolvedFixedIP = Obj("ResolvedFixedIP is a FixedIP with its subnet resolved to an ID.", {
  subnet: Type.Optional(Str("subnet is the ID of the subnet.")),
  ipAddress: Type.Optional(Str("ipAddress requested in the subnet.", { maxLength: MaxLen.ip })),
});

export const ResolvedPortSpec = Obj("ResolvedPortSpec is a PortOpts with all references resolved.", {
  name: NonEmptyStr("name of the port."),
  description: Type.Optional(Str("description of the port.")),
  networkID: NonEmptyStr("networkID the port is created in."),
  tags: Type.Optional(StringSet("tags applied to the port.", { maxItems: 64 })),
  trunk: Type.Optional(Bool("trunk tells whether a trunk is created for the port.")),
  fixedIPs: Type.Optional(List("fixedIPs of the port.", ResolvedFixedIP, "atomic", { maxItems: 16 })),
  securityGroups: Type.Optional(
    List("securityGroups are security group IDs.", Type.String({ maxLength: MaxLen.id }), "atomic", { maxItems: 16 }),
  ),
  ...resolvedPortSpecFields,
});

export const PortStatus = Obj("PortStatus identifies a port created for a server.", {
  id: NonEmptyStr("id of the port."),
});

export const ResolvedMachineSpec = Obj("ResolvedMachineSpec holds a machine spec's references, resolved.", {
  serverGroupID: Type.Optional(Str("serverGroupID the server is added to.")),
  imageID: Type.Optional(Str("imageID the server boots from.")),
  flavorID: Type.Optional(Str("flavorID of the server.")),
  ports: Type.Optional(List("ports to create for the server.", ResolvedPortSpec, "atomic", { maxItems: 16 })),
});

export const MachineResources = Obj("MachineResources lists the OpenStack resources created for a server.", {
  ports: Type.Optional(List("ports created for the server.", PortStatus, "atomic", { maxItems: 16 })),
});

export const InstanceState = Type.String({
  description:
    "InstanceState is the Nova state of a server: BUILD, ACTIVE, ERROR, STOPPED, SHUTOFF, DELETED, SOFT_DELETED or empty.",
  maxLength: 32,
});

const VolumeAvailabilityZone = Obj(
  "VolumeAvailabilityZone tells where a volume's availability zone comes from.",
  {
    from: Type.Optional(
      Type.String({
        description: "from is Name (use name) or Machine (use the machine's failure domain).",
        enum: ["Name", "Machine"],
        default: "Name",
      }),
    ),
    name: Type.Optional(
      NonEmptyStr("name of the volume availability zone; required when from is Name. No spaces.", {
        pattern: "^[^ ]+$",
      }),
    ),
  },
  {
    "x-kubernetes-validations": [
      celRule(
        "!has(self.from) || self.from == 'Name' ? has(self.name) : !has(self.name)",
        "name is required when from is 'Name' or default",
        (v) => isRecord(v) && (v["from"] === undefined || v["from"] === "Name" ? "name" in v : !("name" in v)),
      ),
    ],
  },
);

const blockDeviceVolumeFields = {
  type: Type.Optional(Str("type is the Cinder volume type; the cloud's default type when unset.")),
  availabilityZone: Type.Optional(VolumeAvailabilityZone),
};

export const BlockDeviceVolume = Obj("BlockDeviceVolume holds options of a Cinder volume.", blockDeviceVolumeFields);

export const RootVolume = Obj("RootVolume makes the server boot from a new Cinder volume created from the image.", {
  sizeGiB: Int32("sizeGiB is the size of the volume in GiB.", { minimum: 1 }),
  ...blockDeviceVolumeFields,
});

export const AdditionalBlockDevice = Obj("AdditionalBlockDevice is an extra disk attached to the server.", {
  name: NonEmptyStr(
    "name of the device in the machine; part of the volume name and its tag. `root` is reserved.",
    {
      maxLength: 64,
      "x-kubernetes-validations": [
        celRule("self != 'root'", "name 'root' is reserved for the root volume", (v) => v !== "root"),
      ],
    },
  ),
  sizeGiB: Int32("sizeGiB is the size in GiB.", { minimum: 1 }),
  storage: Obj(
    "storage is the kind of device (Local ephemeral disk or Cinder Volume) and its options.",
    {
      type: Type.String({ description: "type is Local or Volume.", enum: ["Local", "Volume"] }),
      volume: Type.Optional(BlockDeviceVolume),
    },
    {
      "x-kubernetes-validations": [
        celRule(
          "self.type == 'Volume' || !has(self.volume)",
          "volume may be set only when type is Volume",
          (v) => isRecord(v) && (v["type"] === "Volume" || !("volume" in v)),
        ),
      ],
    },
  ),
});

export const ServerMetadata = Obj("ServerMetadata is a key/value pair set on the server.", {
  key: NonEmptyStr("key of the metadata item."),
  value: NonEmptyStr("value of the metadata item."),
});

export const SchedulerHintAdditionalProperty = Obj("A scheduler hint passed to Nova.", {
  name: NonEmptyStr("name of the hint."),
  value: Obj(
    "value of the hint; type says which of bool, number or string is set.",
    {
      type: Type.String({ description: "type of the value: Bool, String or Number.", enum: ["Bool", "String", "Number"] }),
      bool: Type.Optional(Bool("bool value, when type is Bool.")),
      number: Type.Optional(Int32("number value, when type is Number.")),
      string: Type.Optional(NonEmptyStr("string value, when type is String.")),
    },
    {
      "x-kubernetes-validations": [
        celRule(
          "self.type == 'Bool' ? has(self.bool) : !has(self.bool)",
          "bool is required when type is Bool, and forbidden otherwise",
          (v) => isRecord(v) && (v["type"] === "Bool") === ("bool" in v),
        ),
        celRule(
          "self.type == 'Number' ? has(self.number) : !has(self.number)",
          "number is required when type is Number, and forbidden otherwise",
          (v) => isRecord(v) && (v["type"] === "Number") === ("number" in v),
        ),
        celRule(
          "self.type == 'String' ? has(self.string) : !has(self.string)",
          "string is required when type is String, and forbidden otherwise",
          (v) => isRecord(v) && (v["type"] === "String") === ("string" in v),
        ),
      ],
    },
  ),
});

export const NodeAddress = Obj("NodeAddress is an address of the server (corev1.NodeAddress).", {
  type: Type.String({
    description: "type: Hostname, ExternalIP, InternalIP, ExternalDNS or InternalDNS.",
    maxLength: 32,
  }),
  address: Type.String({ description: "address, in the form given by type.", maxLength: MaxLen.name }),
});

export const NetworkStatus = Obj("NetworkStatus describes a Neutron network in use.", {
  name: Str("name of the network."),
  id: NonEmptyStr("id of the network."),
  tags: Type.Optional(StringSet("tags on the network.")),
});

export const Subnet = Obj("Subnet describes a Neutron subnet in use.", {
  name: Str("name of the subnet."),
  id: NonEmptyStr("id of the subnet."),
  cidr: NonEmptyStr("cidr of the subnet.", { maxLength: 64 }),
  tags: Type.Optional(StringSet("tags on the subnet.")),
});

export const NetworkStatusWithSubnets = Obj("NetworkStatusWithSubnets describes a network and the subnets in use.", {
  ...NetworkStatus.properties,
  subnets: Type.Optional(List("subnets machines on this network get addresses from.", Subnet, "atomic", { maxItems: 16 })),
});

export const Router = Obj("Router describes the cluster's Neutron router.", {
  name: Str("name of the router."),
  id: NonEmptyStr("id of the router."),
  tags: Type.Optional(StringSet("tags on the router.")),
  ips: Type.Optional(StringSet("ips are the router's external addresses.")),
});

export const LoadBalancer = Obj("LoadBalancer describes the API server's Octavia load balancer.", {
  name: Str("name of the load balancer."),
  id: NonEmptyStr("id of the load balancer."),
  ip: Str("ip is the address clients use (the floating IP when there is one, else the VIP).", { maxLength: MaxLen.ip }),
  internalIP: Str("internalIP is the VIP on the cluster network.", { maxLength: MaxLen.ip }),
  allowedCIDRs: Type.Optional(StringSet("allowedCIDRs applied to the listeners.")),
  tags: Type.Optional(StringSet("tags on the load balancer.")),
  loadBalancerNetwork: Type.Optional(NetworkStatusWithSubnets),
});

export const SecurityGroupStatus = Obj("SecurityGroupStatus identifies a managed security group.", {
  name: NonEmptyStr("name of the security group."),
  id: NonEmptyStr("id of the security group."),
});

export const ExternalRouterIPParam = Obj("ExternalRouterIPParam is a fixed external address for the router.", {
  fixedIP: Type.Optional(IPAddress("fixedIP in the subnet.")),
  subnet: SubnetParam,
});

export const SubnetSpec = Obj("SubnetSpec describes a subnet to create.", {
  cidr: CIDR("cidr of the subnet to create, e.g. 10.6.0.0/24."),
  dnsNameservers: Type.Optional(
    List(
      "dnsNameservers handed out by the subnet; they must have the IP version of cidr.",
      IPAddress("a DNS server address"),
      "atomic",
      { maxItems: 8 },
    ),
  ),
  allocationPools: Type.Optional(
    List(
      "allocationPools limit the addresses OpenStack allocates to machines.",
      Obj("AllocationPool is a range of addresses.", {
        start: IPAddress("start is the lowest address of the pool."),
        end: IPAddress("end is the highest address of the pool."),
      }),
      "atomic",
      { maxItems: 16 },
    ),
  ),
});

export { CIDR };
