import { Type } from "@sinclair/typebox";
import type { Static } from "@sinclair/typebox";
import { OpenStackClusterSpecBase } from "./openstackcluster.js";
import { OpenStackMachineSpecBase } from "./openstackmachine.js";
import { Conditions, Obj, Str, StringMap, celRule } from "./schema.js";
import type { CelRule } from "./schema.js";

const ObjectMetaTemplate = Obj("metadata (labels and annotations) given to objects created from the template.", {
  labels: Type.Optional(StringMap("labels to set.")),
  annotations: Type.Optional(StringMap("annotations to set.")),
});

export const OpenStackClusterTemplate = Obj(
  "OpenStackClusterTemplate is a template for OpenStackClusters (used by ClusterClass).",
  {
    apiVersion: Type.Optional(Type.String({ description: "APIVersion of the object." })),
    kind: Type.Optional(Type.String({ description: "Kind of the object." })),
    metadata: Type.Optional(Type.Object({}, { description: "Standard object metadata." })),
    spec: Obj("OpenStackClusterTemplateSpec holds the template.", {
      template: Obj("template is the OpenStackCluster to create.", {
        metadata: Type.Optional(ObjectMetaTemplate),
        spec: Obj(OpenStackClusterSpecBase.description ?? "", OpenStackClusterSpecBase.properties, {
          "x-kubernetes-validations": [
            ...((OpenStackClusterSpecBase["x-kubernetes-validations"] as CelRule[] | undefined) ?? []),
            celRule(
              "self == oldSelf",
              "OpenStackClusterTemplate spec.template.spec is immutable: create a new template instead",
            ),
          ],
        }),
      }),
    }),
  },
);
export type OpenStackClusterTemplate = Static<typeof OpenStackClusterTemplate>;

export const OpenStackMachineTemplate = Obj(
  "OpenStackMachineTemplate is a template for OpenStackMachines (used by KubeadmControlPlane and MachineDeployment).",
  {
    apiVersion: Type.Optional(Type.String({ description: "APIVersion of the object." })),
    kind: Type.Optional(Type.String({ description: "Kind of the object." })),
    metadata: Type.Optional(Type.Object({}, { description: "Standard object metadata." })),
    spec: Obj("OpenStackMachineTemplateSpec holds the template.", {
      template: Obj("template is the OpenStackMachine to create.", {
        metadata: Type.Optional(ObjectMetaTemplate),
        spec: Obj(
          OpenStackMachineSpecBase.description ?? "",
          OpenStackMachineSpecBase.properties,
          {
            "x-kubernetes-validations": [
              celRule(
                "self == oldSelf",
                "OpenStackMachineTemplate spec.template.spec is immutable: create a new template instead",
              ),
            ],
          },
        ),
      }),
    }),
    status: Type.Optional(
      Obj("OpenStackMachineTemplateStatus reports what the autoscaler needs to scale from zero.", {
        capacity: Type.Optional(
          Type.Record(
            Type.String(),
            Type.Union([Type.Integer(), Type.String({ maxLength: 64 })], { "x-kubernetes-int-or-string": true }),
            { description: "capacity of a machine from this template (cpu, memory, ephemeral-storage...)." },
          ),
        ),
        nodeInfo: Type.Optional(
          Obj(
            "nodeInfo describes the node a machine from this template becomes.",
            { operatingSystem: Type.Optional(Str("operatingSystem of the node, e.g. linux or windows.")) },
            { minProperties: 1 },
          ),
        ),
        conditions: Type.Optional(Conditions),
      }),
    ),
  },
);
export type OpenStackMachineTemplate = Static<typeof OpenStackMachineTemplate>;
