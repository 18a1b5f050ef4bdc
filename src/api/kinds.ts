import type { TSchema } from "@sinclair/typebox";
import { OpenStackCluster } from "./openstackcluster.js";
import { OpenStackMachine } from "./openstackmachine.js";
import { OpenStackClusterTemplate, OpenStackMachineTemplate } from "./templates.js";

export const GROUP = "infrastructure.cluster.x-k8s.io";
export const VERSION = "v1beta2";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Labels every CRD of ours carries: the CAPI contract version it serves, and the clusterctl provider. */
export const CRD_LABELS: Readonly<Record<string, string>> = {
  "cluster.x-k8s.io/v1beta2": VERSION,
  "cluster.x-k8s.io/provider": "infrastructure-openstack",
};

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything needed to serve one kind: its schema and the CRD's names and columns. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
  schema: TSchema;
  statusSubresource: boolean;
  printerColumns: PrinterColumn[];
}

const clusterLabelColumn = (what: string): PrinterColumn => ({
  name: "Cluster",
  type: "string",
  jsonPath: ".metadata.labels.cluster\\.x-k8s\\.io/cluster-name",
  description: `Cluster to which this ${what} belongs`,
});

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: "Status of the Ready condition",
};

const ageColumn = (what: string): PrinterColumn => ({
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: `Time since creation of the ${what}`,
});

export const KINDS: readonly KindDefinition[] = [
  {
    kind: "OpenStackCluster",
    plural: "openstackclusters",
    singular: "openstackcluster",
    listKind: "OpenStackClusterList",
    shortNames: ["osc"],
    categories: ["cluster-api"],
    schema: OpenStackCluster,
    statusSubresource: true,
    printerColumns: [
      clusterLabelColumn("OpenStackCluster"),
      readyColumn,
      { name: "Network", type: "string", jsonPath: ".status.network.id", description: "Network the cluster is using" },
      { name: "Endpoint", type: "string", jsonPath: ".spec.controlPlaneEndpoint.host", description: "API endpoint" },
      {
        name: "Bastion IP",
        type: "string",
        jsonPath: ".status.bastion.floatingIP",
        description: "Bastion address for breakglass access",
        priority: 1,
      },
      ageColumn("OpenStackCluster"),
    ],
  },
  {
    kind: "OpenStackClusterTemplate",
    plural: "openstackclustertemplates",
    singular: "openstackclustertemplate",
    listKind: "OpenStackClusterTemplateList",
    shortNames: ["osct"],
    categories: ["cluster-api"],
    schema: OpenStackClusterTemplate,
    statusSubresource: false,
    printerColumns: [ageColumn("OpenStackClusterTemplate")],
  },
  {
    kind: "OpenStackMachine",
    plural: "openstackmachines",
    singular: "openstackmachine",
    listKind: "OpenStackMachineList",
    shortNames: ["osm"],
    categories: ["cluster-api"],
    schema: OpenStackMachine,
    statusSubresource: true,
    printerColumns: [
      clusterLabelColumn("OpenStackMachine"),
      { name: "InstanceState", type: "string", jsonPath: ".status.instanceState", description: "OpenStack instance state" },
      readyColumn,
      { name: "ProviderID", type: "string", jsonPath: ".spec.providerID", description: "OpenStack instance ID" },
      {
        name: "Machine",
        type: "string",
        jsonPath: '.metadata.ownerReferences[?(@.kind=="Machine")].name',
        description: "Machine object which owns this OpenStackMachine",
        priority: 1,
      },
      ageColumn("OpenStackMachine"),
    ],
  },
  {
    kind: "OpenStackMachineTemplate",
    plural: "openstackmachinetemplates",
    singular: "openstackmachinetemplate",
    listKind: "OpenStackMachineTemplateList",
    shortNames: ["osmt"],
    categories: ["cluster-api"],
    schema: OpenStackMachineTemplate,
    statusSubresource: true,
    printerColumns: [ageColumn("OpenStackMachineTemplate")],
  },
];

export function kindDefinition(kind: string): KindDefinition | undefined {
  return KINDS.find((k) => k.kind === kind);
}
