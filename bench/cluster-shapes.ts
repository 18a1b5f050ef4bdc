/**
 * The same without-lb cluster (1 control plane + N workers) for both providers in the upstream benchmark, each
 * rendered from its own template: upstream CAPO's templates/cluster-template-without-lb.yaml with clusterctl's
 * variables, ours with `capo generate cluster --flavor without-lb` less its MachineHealthChecks. Same Kubernetes
 * version, image, flavors, DNS server, failure domain and external network.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { defaultAsCapiWebhooksWould } from "../src/demo/capi-defaults.js";
import { simClusterOptions } from "../src/demo/cluster-options.js";
import { SIM_CLOUD_NAME } from "../src/demo/environment.js";
import { generateCluster } from "../src/manifests/generate/index.js";
import { envsubst } from "../src/manifests/generate/envsubst.js";
import { parseDocuments, type KubeObject } from "../src/manifests/yaml.js";

export type Provider = "upstream" | "capo-ts";

export interface ShapeOptions {
  clusterName: string;
  namespace: string;
  workers: number;
  cloudsFile: string;
  /** The simulator's external network id (upstream's template takes an id only). */
  externalNetworkId: string;
}

export async function ourCluster(o: ShapeOptions): Promise<KubernetesObject[]> {
  const g = await generateCluster(
    simClusterOptions({ clusterName: o.clusterName, namespace: o.namespace, flavor: "without-lb", controlPlanes: 1, workers: o.workers, cloudsFile: o.cloudsFile }),
  );
  // Upstream's template has no MachineHealthChecks; ours has two per cluster, whose controller writes conditions on
  // every Machine and wakes KCP and the Machine controller with them. Left out, both providers get the same CAPI
  // objects, and what differs is what the providers do.
  return g.objects.filter((obj) => obj.kind !== "MachineHealthCheck").map(defaultAsCapiWebhooksWould) as KubernetesObject[];
}

/** Upstream's template with the values simClusterOptions gives ours; throws on a variable left without a value. */
export function upstreamCluster(templateDir: string, o: ShapeOptions): KubernetesObject[] {
  const ours = simClusterOptions({ clusterName: o.clusterName, namespace: o.namespace, controlPlanes: 1, workers: o.workers, cloudsFile: o.cloudsFile });
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  const vars: Record<string, string> = {
    CLUSTER_NAME: o.clusterName,
    KUBERNETES_VERSION: ours.kubernetesVersion ?? "",
    WORKER_MACHINE_COUNT: String(o.workers),
    OPENSTACK_CLOUD: SIM_CLOUD_NAME,
    OPENSTACK_CLOUD_YAML_B64: b64(readFileSync(o.cloudsFile, "utf8")),
    // The simulator speaks plain HTTP: no CA.
    OPENSTACK_CLOUD_CACERT_B64: "",
    OPENSTACK_EXTERNAL_NETWORK_ID: o.externalNetworkId,
    OPENSTACK_IMAGE_NAME: ours.image ?? "",
    OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR: ours.controlPlaneFlavor ?? "",
    OPENSTACK_NODE_MACHINE_FLAVOR: ours.workerFlavor ?? "",
    OPENSTACK_DNS_NAMESERVERS: (ours.dnsServers ?? []).join(","),
    OPENSTACK_FAILURE_DOMAIN: ours.failureDomain ?? "",
    OPENSTACK_SSH_KEY_NAME: "",
  };
  const path = join(templateDir, "cluster-template-without-lb.yaml");
  const { text, missing } = envsubst(readFileSync(path, "utf8"), vars);
  if (missing.length > 0) throw new Error(`${path}: no value for ${missing.join(", ")}`);
  return parseDocuments(text, path).map((obj) => asApplied(obj, o.namespace)) as KubernetesObject[];
}

/**
 * What clusterctl and CAPI's webhooks would store: the namespace, no null Secret data (the empty CA), no null
 * sshKeyName (ours gets none either: the simulator's project has no key pair), and the
 * MachineDeployment's selector and template labels (its defaulting webhook fills `matchLabels: null`).
 */
function asApplied(obj: KubeObject, namespace: string): KubeObject {
  const o: KubeObject = { ...obj, metadata: { ...obj.metadata, namespace } };
  if (o.kind === "Secret") {
    const data = (o["data"] ?? {}) as Record<string, string | null>;
    o["data"] = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null && v !== ""));
  }
  if (o.kind === "OpenStackMachineTemplate") {
    const spec = (o["spec"] as { template: { spec: Record<string, unknown> } }).template.spec;
    if (spec["sshKeyName"] === null) delete spec["sshKeyName"];
  }
  if (o.kind !== "MachineDeployment") return o;
  const spec = o["spec"] as { clusterName: string; selector?: { matchLabels?: Record<string, string> | null }; template: { metadata?: { labels?: Record<string, string> } } };
  const labels = { "cluster.x-k8s.io/cluster-name": spec.clusterName, "cluster.x-k8s.io/deployment-name": o.metadata?.name ?? "" };
  const defaulted = {
    ...o,
    spec: {
      ...spec,
      selector: { matchLabels: { ...spec.selector?.matchLabels, ...labels } },
      template: { ...spec.template, metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, ...labels } } },
    },
  };
  return defaultAsCapiWebhooksWould(defaulted);
}

/** The simulator's external network's id, asked through its APIs as a user would (before the measured phases). */
export async function externalNetworkId(authUrl: string, cloudsYaml: { username: string; password: string; project: string }): Promise<string> {
  const auth = await fetch(`${authUrl}/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: { methods: ["password"], password: { user: { name: cloudsYaml.username, password: cloudsYaml.password, domain: { name: "Default" } } } },
        scope: { project: { name: cloudsYaml.project, domain: { name: "Default" } } },
      },
    }),
  });
  const token = auth.headers.get("x-subject-token");
  const catalog = ((await auth.json()) as { token: { catalog: { type: string; endpoints: { interface: string; url: string }[] }[] } }).token.catalog;
  const network = catalog.find((s) => s.type === "network")?.endpoints.find((e) => e.interface === "public")?.url;
  if (!token || !network) throw new Error("the simulator gave no token or no network endpoint");
  const res = await fetch(`${network.replace(/\/$/, "")}/v2.0/networks?router:external=true`, { headers: { "x-auth-token": token } });
  const nets = ((await res.json()) as { networks: { id: string; name: string }[] }).networks;
  const id = nets[0]?.id;
  if (nets.length !== 1 || !id) throw new Error(`expected one external network in the simulator, found ${nets.length}`);
  return id;
}
