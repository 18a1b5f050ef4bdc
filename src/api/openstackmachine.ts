import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import {
  AdditionalBlockDevice,
  FlavorParam,
  ImageParam,
  InstanceState,
  MachineResources,
  NodeAddress,
  OpenStackIdentityReference,
  PortOpts,
  ResolvedMachineSpec,
  RootVolume,
  SchedulerHintAdditionalProperty,
  SecurityGroupParam,
  ServerGroupParam,
  ServerMetadata,
} from "./common.js";
import { Bool, Conditions, List, Obj, Str, StringSet, celRule } from "./schema.js";
import { immutableFieldRules } from "./immutability.js";

const machineSpecProperties = {
  providerID: Type.Optional(
    Str("providerID is the unique identifier of the server as the cloud provider knows it (openstack:///<uuid>).", {
      maxLength: 512,
    }),
  ),
  flavor: FlavorParam,
  image: ImageParam,
  sshKeyName: Type.Optional(Str("sshKeyName is the Nova keypair injected into the server.")),
  ports: Type.Optional(
    List(
      "ports attached to the server. They are created unless a port of the same name exists. " +
        "When empty, one port on the cluster network is created.",
      PortOpts,
      "atomic",
      { maxItems: 16 },
    ),
  ),
  securityGroups: Type.Optional(
    List("securityGroups applied to every port of the server.", SecurityGroupParam, "atomic", { maxItems: 16 }),
  ),
  trunk: Type.Optional(Bool("trunk creates the server on trunk ports.")),
  tags: Type.Optional(
    StringSet("tags added to the server and its resources, in addition to the cluster's tags (Nova 2.52+).", {
      maxItems: 32,
    }),
  ),
  serverMetadata: Type.Optional(
    List("serverMetadata is set on the server.", ServerMetadata, { mapKeys: ["key"] }, { maxItems: 64 }),
  ),
  configDrive: Type.Optional(Bool("configDrive enables the config drive.")),
  rootVolume: Type.Optional(RootVolume),
  additionalBlockDevices: Type.Optional(
    List("additionalBlockDevices attached to the server.", AdditionalBlockDevice, { mapKeys: ["name"] }, { maxItems: 16 }),
  ),
  serverGroup: Type.Optional(ServerGroupParam),
  identityRef: Type.Optional(OpenStackIdentityReference),
  schedulerHintAdditionalProperties: Type.Optional(
    List("schedulerHintAdditionalProperties are extra Nova scheduler hints.", SchedulerHintAdditionalProperty, {
      mapKeys: ["name"],
    }, { maxItems: 16 }),
  ),
};

/** The OpenStackMachine spec without immutability rules: also used for the bastion and the machine template. */
export const OpenStackMachineSpecBase = Obj(
  "OpenStackMachineSpec defines the server to create for a Cluster API Machine.",
  machineSpecProperties,
);

/** Upstream's webhook forbids any change except identityRef, and providerID while it is unset. */
export const OpenStackMachineSpec = Obj(
  "OpenStackMachineSpec defines the server to create for a Cluster API Machine. It is immutable, except that " +
    "providerID may be set once and identityRef may change.",
  machineSpecProperties,
  {
    "x-kubernetes-validations": [
      celRule(
        "!has(oldSelf.providerID) || (has(self.providerID) && self.providerID == oldSelf.providerID)",
        "providerID cannot be changed once set",
        undefined,
        { fieldPath: ".providerID" },
      ),
      ...immutableFieldRules(
        Object.keys(machineSpecProperties).filter((k) => k !== "providerID" && k !== "identityRef"),
        "OpenStackMachine spec",
      ),
    ],
  },
);
export type OpenStackMachineSpec = Static<typeof OpenStackMachineSpecBase>;

export const OpenStackMachineStatus = Obj("OpenStackMachineStatus is the observed state of an OpenStackMachine.", {
  conditions: Type.Optional(Conditions),
  initialization: Type.Optional(
    Obj("initialization reports the Cluster API v1beta2 contract's provisioning milestones.", {
      provisioned: Type.Optional(
        Bool("provisioned is true once the server has been created and is ready; never reset afterwards."),
      ),
    }),
  ),
  instanceID: Type.Optional(Str("instanceID is the Nova server ID.")),
  instanceState: Type.Optional(InstanceState),
  addresses: Type.Optional(List("addresses of the server.", NodeAddress, "atomic", { maxItems: 32 })),
  resolved: Type.Optional(ResolvedMachineSpec),
  resources: Type.Optional(MachineResources),
  failureReason: Type.Optional(
    Str(
      "failureReason (deprecated; no effect under the v1beta2 contract) is a terminal error code. " +
        "The Ready condition carries the same information.",
      { maxLength: 64 },
    ),
  ),
  failureMessage: Type.Optional(
    Str("failureMessage (deprecated) is a human readable terminal error.", { maxLength: 10240 }),
  ),
});
export type OpenStackMachineStatus = Static<typeof OpenStackMachineStatus>;

export const OpenStackMachine = Obj("OpenStackMachine is an OpenStack server backing a Cluster API Machine.", {
  apiVersion: Type.Optional(Type.String({ description: "APIVersion of the object." })),
  kind: Type.Optional(Type.String({ description: "Kind of the object." })),
  metadata: Type.Optional(Type.Object({}, { description: "Standard object metadata." })),
  spec: OpenStackMachineSpec,
  status: Type.Optional(OpenStackMachineStatus),
});
export type OpenStackMachine = Static<typeof OpenStackMachine>;
