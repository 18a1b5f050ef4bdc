import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import {
  ExternalRouterIPParam,
  LoadBalancer,
  NetworkParam,
  NetworkStatus,
  NetworkStatusWithSubnets,
  OpenStackIdentityReference,
  ResolvedMachineSpec,
  MachineResources,
  InstanceState,
  Router,
  RouterParam,
  SecurityGroupStatus,
  SubnetParam,
  SubnetSpec,
  CIDR,
} from "./common.js";
import { OpenStackMachineSpecBase } from "./openstackmachine.js";
import { setOnceFieldRules } from "./immutability.js";
import {
  Bool,
  Conditions,
  IPAddress,
  IPv4Address,
  Int32,
  List,
  MaxLen,
  NonEmptyStr,
  Obj,
  Str,
  StringMap,
  StringSet,
  celRule,
  isRecord,
} from "./schema.js";

export const APIServerLoadBalancerMonitor = Obj("Health monitor settings of the API server load balancer.", {
  delay: Type.Optional(Int32("delay in seconds between probes.", { minimum: 0, default: 10 })),
  timeout: Type.Optional(Int32("timeout in seconds for a probe to connect.", { minimum: 0, default: 5 })),
  maxRetries: Type.Optional(
    Int32("maxRetries: successful checks before a member becomes ONLINE.", { minimum: 0, maximum: 10, default: 5 }),
  ),
  maxRetriesDown: Type.Optional(
    Int32("maxRetriesDown: failed checks before a member becomes ERROR.", { minimum: 1, maximum: 10, default: 3 }),
  ),
});

const lbProperties = {
  enabled: Type.Optional(
    Bool(
      "enabled creates the load balancer; defaults to true when managedLoadBalancer is given. " +
        "To have no load balancer, omit managedLoadBalancer.",
      { default: true },
    ),
  ),
  additionalPorts: Type.Optional(
    List("additionalPorts are extra TCP ports the load balancer forwards.", Int32("a TCP port", { minimum: 1, maximum: 65535 }), "set", {
      maxItems: 16,
    }),
  ),
  allowedCIDRs: Type.Optional(
    List("allowedCIDRs restrict access to every API server listener to these CIDRs.", CIDR("a CIDR"), "set", {
      maxItems: 64,
    }),
  ),
  provider: Type.Optional(Str("provider is the Octavia provider (e.g. amphora, ovn); Octavia's default if unset.")),
  network: Type.Optional(NetworkParam),
  subnets: Type.Optional(
    List("subnets of network to allocate the VIP on; only the first is used.", SubnetParam, "atomic", { maxItems: 2 }),
  ),
  availabilityZone: Type.Optional(Str("availabilityZone of the load balancer.")),
  flavor: Type.Optional(Str("flavor is the Octavia flavor name.")),
  monitor: Type.Optional(APIServerLoadBalancerMonitor),
};

export const APIServerLoadBalancer = Obj(
  "APIServerLoadBalancer configures the Octavia load balancer in front of the API server.",
  lbProperties,
  {
    "x-kubernetes-validations": setOnceFieldRules(
      ["enabled", "provider", "network", "subnets", "availabilityZone", "flavor"],
      "apiServer.managedLoadBalancer",
    ),
  },
);

const apiServerProperties = {
  port: Type.Optional(Int32("port of the API server listener (default 6443).", { minimum: 1, maximum: 65535 })),
  fixedIP: Type.Optional(
    IPAddress(
      "fixedIP is the API server's address on the cluster network: the load balancer VIP when there is a " +
        "managed load balancer; required (a pre-allocated VIP) when there is neither a load balancer nor a floating IP.",
    ),
  ),
  floatingIP: Type.Optional(
    IPAddress("floatingIP for the API server; created if it does not exist, allocated if unset."),
  ),
  enableFloatingIP: Type.Optional(
    Bool("enableFloatingIP attaches a floating IP to the API server (default true when an external network is used)."),
  ),
  managedLoadBalancer: Type.Optional(APIServerLoadBalancer),
};

export const APIServer = Obj(
  "APIServer configures the API server endpoint, its load balancer and its floating IP.",
  apiServerProperties,
  {
    "x-kubernetes-validations": [
      ...setOnceFieldRules(["port", "fixedIP", "floatingIP", "enableFloatingIP"], "apiServer"),
      celRule(
        "has(oldSelf.managedLoadBalancer) == has(self.managedLoadBalancer)",
        "apiServer.managedLoadBalancer cannot be added or removed after creation",
        undefined,
        { fieldPath: ".managedLoadBalancer" },
      ),
    ],
  },
);

export const SecurityGroupRuleSpec = Obj(
  "SecurityGroupRuleSpec is an extra rule for a managed security group.",
  {
    name: NonEmptyStr("name identifies the rule for patching; it is not sent to OpenStack."),
    description: Type.Optional(Str("description of the rule.")),
    direction: Type.String({ description: "direction: ingress or egress.", enum: ["ingress", "egress"] }),
    etherType: Type.Optional(Type.String({ description: "etherType: IPv4 or IPv6.", enum: ["IPv4", "IPv6"] })),
    portRangeMin: Type.Optional(Int32("portRangeMin is the lowest port matched.", { minimum: 0, maximum: 65535 })),
    portRangeMax: Type.Optional(Int32("portRangeMax is the highest port matched.", { minimum: 0, maximum: 65535 })),
    protocol: Type.Optional(Str("protocol matched (tcp, udp, icmp, a number, ...).", { maxLength: 32 })),
    remoteGroupID: Type.Optional(Str("remoteGroupID is the remote security group ID.")),
    remoteIPPrefix: Type.Optional(Str("remoteIPPrefix is the remote CIDR.", { maxLength: 64 })),
    remoteManagedGroups: Type.Optional(
      List(
        "remoteManagedGroups are managed security groups used as remote groups.",
        Type.String({ enum: ["bastion", "controlplane", "worker"] }),
        "set",
        { maxItems: 3 },
      ),
    ),
  },
  {
    "x-kubernetes-validations": [
      celRule(
        "(has(self.remoteGroupID) ? 1 : 0) + (has(self.remoteIPPrefix) ? 1 : 0) + (has(self.remoteManagedGroups) ? 1 : 0) <= 1",
        "only one of remoteGroupID, remoteIPPrefix and remoteManagedGroups may be set",
        (v) =>
          isRecord(v) && ["remoteGroupID", "remoteIPPrefix", "remoteManagedGroups"].filter((k) => k in v).length <= 1,
      ),
      celRule(
        "!has(self.portRangeMin) || !has(self.portRangeMax) || self.portRangeMin <= self.portRangeMax",
        "portRangeMin must not be greater than portRangeMax",
        (v) =>
          isRecord(v) &&
          (typeof v["portRangeMin"] !== "number" ||
            typeof v["portRangeMax"] !== "number" ||
            v["portRangeMin"] <= v["portRangeMax"]),
      ),
    ],
  },
);

function ruleList(description: string) {
  return List(description, SecurityGroupRuleSpec, { mapKeys: ["name"] }, { maxItems: 64 });
}

export const ManagedSecurityGroups = Obj(
  "ManagedSecurityGroups makes the provider create the cluster's security groups (control plane, workers, bastion) " +
    "with the rules kubelet, etcd and the API server need, plus the rules given here.",
  {
    clusterNodesSecurityGroupRules: Type.Optional(
      ruleList("clusterNodesSecurityGroupRules apply to all cluster nodes (not the bastion)."),
    ),
    controlPlaneNodesSecurityGroupRules: Type.Optional(
      ruleList("controlPlaneNodesSecurityGroupRules apply to control plane nodes."),
    ),
    workerNodesSecurityGroupRules: Type.Optional(ruleList("workerNodesSecurityGroupRules apply to worker nodes.")),
    allowAllInClusterTraffic: Type.Optional(
      Bool("allowAllInClusterTraffic allows all traffic between cluster nodes.", { default: false }),
    ),
  },
);

export const Bastion = Obj(
  "Bastion is an optional host to reach the nodes from outside. A running bastion cannot be changed: set " +
    "enabled: false first, wait for it to be deleted, then change it.",
  {
    enabled: Type.Optional(Bool("enabled creates the bastion (default true).", { default: true })),
    spec: Type.Optional(OpenStackMachineSpecBase),
    availabilityZone: Type.Optional(Str("availabilityZone of the bastion.")),
    floatingIP: Type.Optional(
      IPv4Address("floatingIP (address, not UUID) to associate with the bastion; it should exist and be unassociated."),
    ),
  },
  {
    "x-kubernetes-validations": [
      celRule(
        "!self.enabled || has(self.spec)",
        "spec is required if bastion is enabled",
        (v) => isRecord(v) && (v["enabled"] === false || "spec" in v),
      ),
      celRule(
        "!oldSelf.enabled || !self.enabled || (has(self.spec) == has(oldSelf.spec) && (!has(self.spec) || self.spec == oldSelf.spec))",
        "bastion spec cannot be changed while the bastion is enabled: set enabled to false first",
      ),
    ],
  },
);

export const APIEndpoint = Obj(
  "APIEndpoint is the address of the control plane.",
  {
    host: Type.Optional(Str("host is the hostname or IP of the API server.", { maxLength: 512 })),
    port: Type.Optional(Int32("port of the API server.", { minimum: 0, maximum: 65535 })),
  },
);

const clusterSpecProperties = {
  managedSubnets: Type.Optional(
    List(
      "managedSubnets to create: the provider then creates a network, these subnets and a router. " +
        "Only one IPv4 subnet is supported. When empty, no network is created.",
      SubnetSpec,
      "atomic",
      { maxItems: 1 },
    ),
  ),
  subnets: Type.Optional(
    List(
      "subnets of network to use when managedSubnets is empty; all subnets of network when unset.",
      SubnetParam,
      "atomic",
      { maxItems: 8 },
    ),
  ),
  primarySubnet: Type.Optional(SubnetParam),
  managedRouter: Type.Optional(
    Obj(
      "managedRouter holds settings of the router the provider creates.",
      {
        externalIPs: Type.Optional(
          List("externalIPs are fixed external addresses for the router.", ExternalRouterIPParam, "atomic", {
            minItems: 1,
            maxItems: 8,
          }),
        ),
      },
      {
        "x-kubernetes-validations": [
          celRule("has(self.externalIPs)", "managedRouter must not be empty if set", (v) => isRecord(v) && "externalIPs" in v),
        ],
      },
    ),
  ),
  router: Type.Optional(RouterParam),
  managedNetwork: Type.Optional(
    Obj(
      "managedNetwork holds settings of the network the provider creates.",
      {
        mtu: Type.Optional(Int32("mtu of the network (needs Neutron's net-mtu extension).", { minimum: 68 })),
        enablePortSecurity: Type.Optional(
          Bool("enablePortSecurity enables port security (and so security groups) on the network; default true."),
        ),
      },
      {
        "x-kubernetes-validations": [
          celRule(
            "has(self.mtu) || has(self.enablePortSecurity)",
            "managedNetwork must not be empty if set",
            (v) => isRecord(v) && ("mtu" in v || "enablePortSecurity" in v),
          ),
        ],
      },
    ),
  ),
  network: Type.Optional(NetworkParam),
  externalNetwork: Type.Optional(NetworkParam),
  enableExternalNetwork: Type.Optional(
    Bool(
      "enableExternalNetwork connects the cluster to an external network (default true). When externalNetwork is " +
        "not given, the only external network of the cloud is used, if there is exactly one.",
    ),
  ),
  apiServer: Type.Optional(APIServer),
  managedSecurityGroups: Type.Optional(ManagedSecurityGroups),
  tags: Type.Optional(StringSet("tags set on every cluster resource that supports tags.", { maxItems: 32 })),
  controlPlaneEndpoint: Type.Optional(APIEndpoint),
  controlPlaneAvailabilityZones: Type.Optional(
    StringSet("controlPlaneAvailabilityZones control plane machines may be placed in.", { maxItems: 32 }),
  ),
  controlPlaneOmitAvailabilityZone: Type.Optional(
    Bool("controlPlaneOmitAvailabilityZone lets Nova choose the availability zone of control plane machines."),
  ),
  bastion: Type.Optional(Bastion),
  identityRef: OpenStackIdentityReference,
};

const clusterSpecRules = [
  celRule(
    "has(self.enableExternalNetwork) && !self.enableExternalNetwork ? !has(self.bastion) || !has(self.bastion.floatingIP) : true",
    "bastion floating IP cannot be set when enableExternalNetwork is false",
    (v) =>
      isRecord(v) &&
      !(v["enableExternalNetwork"] === false && isRecord(v["bastion"]) && "floatingIP" in v["bastion"]),
  ),
  celRule(
    "has(self.enableExternalNetwork) && !self.enableExternalNetwork ? has(self.apiServer) && has(self.apiServer.enableFloatingIP) && !self.apiServer.enableFloatingIP : true",
    "apiServer.enableFloatingIP cannot be true when enableExternalNetwork is false",
    (v) =>
      isRecord(v) &&
      (v["enableExternalNetwork"] !== false ||
        (isRecord(v["apiServer"]) && v["apiServer"]["enableFloatingIP"] === false)),
  ),
];

/** The cluster spec without update rules (as in OpenStackClusterTemplate, where the whole template is immutable). */
export const OpenStackClusterSpecBase = Obj(
  "OpenStackClusterSpec is the desired state of the cluster's OpenStack infrastructure.",
  clusterSpecProperties,
  { "x-kubernetes-validations": clusterSpecRules },
);

export const OpenStackClusterSpec = Obj(
  "OpenStackClusterSpec is the desired state of the cluster's OpenStack infrastructure. Network, router, subnet " +
    "and API server settings cannot be changed or removed once set.",
  clusterSpecProperties,
  {
    "x-kubernetes-validations": [
      ...clusterSpecRules,
      ...setOnceFieldRules(
        [
          "managedSubnets",
          "subnets",
          "primarySubnet",
          "managedRouter",
          "router",
          "managedNetwork",
          "network",
          "externalNetwork",
          "enableExternalNetwork",
          "tags",
        ],
        "OpenStackCluster spec",
      ),
      celRule(
        "!has(oldSelf.apiServer) || has(self.apiServer)",
        "apiServer cannot be removed once set",
        undefined,
        { fieldPath: ".apiServer" },
      ),
      celRule(
        "!has(oldSelf.controlPlaneEndpoint) || !has(oldSelf.controlPlaneEndpoint.host) || oldSelf.controlPlaneEndpoint.host == '' || (has(self.controlPlaneEndpoint) && self.controlPlaneEndpoint == oldSelf.controlPlaneEndpoint)",
        "controlPlaneEndpoint cannot be modified after controlPlaneEndpoint.host has been set",
        undefined,
        { fieldPath: ".controlPlaneEndpoint" },
      ),
    ],
  },
);
export type OpenStackClusterSpec = Static<typeof OpenStackClusterSpecBase>;

export const FailureDomain = Obj("FailureDomain is an OpenStack availability zone machines can be placed in.", {
  name: NonEmptyStr("name of the availability zone.", { maxLength: 256 }),
  controlPlane: Type.Optional(Bool("controlPlane tells whether control plane machines may use it.")),
  attributes: Type.Optional(StringMap("attributes of the failure domain.")),
});

export const BastionStatus = Obj("BastionStatus describes the bastion server.", {
  id: Type.Optional(Str("id of the server.")),
  name: Type.Optional(Str("name of the server.")),
  sshKeyName: Type.Optional(Str("sshKeyName of the server.")),
  state: Type.Optional(InstanceState),
  ip: Type.Optional(Str("ip of the server.", { maxLength: MaxLen.ip })),
  floatingIP: Type.Optional(Str("floatingIP of the server.", { maxLength: MaxLen.ip })),
  resolved: Type.Optional(ResolvedMachineSpec),
  resources: Type.Optional(MachineResources),
});

export const OpenStackClusterStatus = Obj("OpenStackClusterStatus is the observed state of an OpenStackCluster.", {
  conditions: Type.Optional(Conditions),
  initialization: Type.Optional(
    Obj("initialization reports the Cluster API v1beta2 contract's provisioning milestones.", {
      provisioned: Type.Optional(
        Bool("provisioned is true once the cluster infrastructure is ready; never reset afterwards."),
      ),
    }),
  ),
  network: Type.Optional(NetworkStatusWithSubnets),
  externalNetwork: Type.Optional(NetworkStatus),
  router: Type.Optional(Router),
  apiServerManagedLoadBalancer: Type.Optional(LoadBalancer),
  apiServerFloatingIP: Type.Optional(
    Obj(
      "apiServerFloatingIP is a capo-ts extension: the floating IP allocated for the API server when there is no " +
        "load balancer. It is kept for the cluster's life and associated with a control plane machine's port.",
      {
        id: NonEmptyStr("id of the floating IP."),
        ip: NonEmptyStr("ip is the floating IP address.", { maxLength: MaxLen.ip }),
      },
    ),
  ),
  failureDomains: Type.Optional(
    List("failureDomains are the availability zones machines may use.", FailureDomain, { mapKeys: ["name"] }, {
      maxItems: 64,
    }),
  ),
  controlPlaneSecurityGroup: Type.Optional(SecurityGroupStatus),
  workerSecurityGroup: Type.Optional(SecurityGroupStatus),
  bastionSecurityGroup: Type.Optional(SecurityGroupStatus),
  bastion: Type.Optional(BastionStatus),
});
export type OpenStackClusterStatus = Static<typeof OpenStackClusterStatus>;

export const OpenStackCluster = Obj("OpenStackCluster is the OpenStack infrastructure of a Cluster API Cluster.", {
  apiVersion: Type.Optional(Type.String({ description: "APIVersion of the object." })),
  kind: Type.Optional(Type.String({ description: "Kind of the object." })),
  metadata: Type.Optional(Type.Object({}, { description: "Standard object metadata." })),
  spec: OpenStackClusterSpec,
  status: Type.Optional(OpenStackClusterStatus),
});
export type OpenStackCluster = Static<typeof OpenStackCluster>;
