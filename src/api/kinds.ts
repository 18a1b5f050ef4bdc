import type { TSchema } from "@sinclair/typebox";
import { OpenStackCluster } from "./openstackcluster.js";
import { OpenStackMachine } from "./openstackmachine.js";
import { OpenStackClusterTemplate, OpenStackMachineTemplate } from "./templates.js";
import {
  OpenStackClusterTemplateV1beta1,
  OpenStackClusterV1beta1,
  OpenStackMachineTemplateV1beta1,
  OpenStackMachineV1beta1,
} from "./v1beta1/types.js";

export const GROUP = "infrastructure.cluster.x-k8s.io";
export const VERSION = "v1beta2";
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Upstream CAPO's version, served for compatibility and converted by the webhook in `capo controller`. */
export const LEGACY_VERSION = "v1beta1";

/** Where the apiserver sends ConversionReviews: the webhook Service of the controller (see config/manager). */
export const CONVERSION_WEBHOOK = {
  namespace: "capo-system",
  service: "capo-webhook-service",
  path: "/convert",
  /** The cert-manager Certificate whose CA cainjector copies into the CRDs, when cert-manager is installed. */
  certificate: "capo-serving-cert",
} as const;

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
  /** The same kind in upstream's v1beta1 shape, served next to v1beta2. */
  v1beta1: { schema: TSchema; printerColumns: PrinterColumn[] };
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

/** v1beta1 reports readiness in status.ready, as upstream's columns show it. */
const v1beta1ReadyColumn = (description: string): PrinterColumn => ({
  name: "Ready",
  type: "string",
  jsonPath: ".status.ready",
  description,
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
    v1beta1: {
      schema: OpenStackClusterV1beta1,
      printerColumns: [
        clusterLabelColumn("OpenStackCluster"),
        v1beta1ReadyColumn("Cluster infrastructure is ready for OpenStack instances"),
        { name: "Network", type: "string", jsonPath: ".status.network.id", description: "Network the cluster is using" },
        { name: "Endpoint", type: "string", jsonPath: ".spec.controlPlaneEndpoint.host", description: "API Endpoint", priority: 1 },
        { name: "Bastion IP", type: "string", jsonPath: ".status.bastion.floatingIP", description: "Bastion address for breakglass access" },
        ageColumn("OpenStackCluster"),
      ],
    },
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
    v1beta1: { schema: OpenStackClusterTemplateV1beta1, printerColumns: [] },
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
    v1beta1: {
      schema: OpenStackMachineV1beta1,
      printerColumns: [
        clusterLabelColumn("OpenStackMachine"),
        v1beta1ReadyColumn("Machine ready status"),
        { name: "ProviderID", type: "string", jsonPath: ".spec.providerID", description: "OpenStack instance ID" },
        {
          name: "Machine",
          type: "string",
          jsonPath: '.metadata.ownerReferences[?(@.kind=="Machine")].name',
          description: "Machine object which owns this OpenStackMachine",
        },
        ageColumn("OpenStackMachine"),
      ],
    },
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
    v1beta1: { schema: OpenStackMachineTemplateV1beta1, printerColumns: [] },
  },
];

export function kindDefinition(kind: string): KindDefinition | undefined {
  return KINDS.find((k) => k.kind === kind);
}
