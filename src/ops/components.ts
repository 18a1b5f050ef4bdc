import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** A Kubernetes object as read from a manifest. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export const PROVIDER_LABEL = "cluster.x-k8s.io/provider";
export const PROVIDER_NAME = "infrastructure-openstack";
export const DEFAULT_NAMESPACE = "capo-system";
export const MANAGER_CONTAINER = "manager";

/** Kinds that live outside namespaces among those a provider ships; everything else gets the target namespace. */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "PriorityClass",
]);

export const isClusterScoped = (kind: string): boolean => CLUSTER_SCOPED.has(kind);

/** The package root (where package.json, config/ and templates/ are), from src/ops or dist/src/ops. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "config"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the capo package root (package.json next to config/)");
    dir = up;
  }
}

/** Every object of the *.yaml files directly in `dir`, files sorted by name, documents in file order. */
export function readManifestDir(dir: string): ManifestObject[] {
  const files = readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort();
  return files.flatMap((f) => parseManifests(readFileSync(join(dir, f), "utf8"), join(dir, f)));
}

export function parseManifests(text: string, source: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: invalid YAML: ${doc.errors[0]?.message ?? ""}`);
    const obj = doc.toJS() as ManifestObject | null;
    if (!obj) continue;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof obj.metadata?.name !== "string") {
      throw new Error(`${source}: a document lacks apiVersion, kind or metadata.name`);
    }
    out.push(obj);
  }
  return out;
}

export interface ComponentOptions {
  /** Where the controller runs (default capo-system). */
  namespace?: string;
  /** Controller image; default: the one in config/manager. */
  image?: string;
  /** Package root to read config/ from (tests). */
  root?: string;
  /** Add config/certmanager (the webhook's Issuer and Certificate); for clusters with cert-manager (clusterctl). */
  certManager?: boolean;
}

/** Install order: Namespace first, CRDs, then the rest (RBAC, ServiceAccount, Deployment) as written. */
const KIND_ORDER = ["Namespace", "CustomResourceDefinition"];
function orderOf(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

/**
 * The objects that make up the provider: config/crd, config/rbac and config/manager, re-homed into `namespace`
 * (the Namespace itself, namespaced objects, and ServiceAccount subjects of bindings), the controller image set,
 * and every object labelled cluster.x-k8s.io/provider=infrastructure-openstack. The result is a fresh copy.
 */
export function providerComponents(opts: ComponentOptions = {}): ManifestObject[] {
  const root = opts.root ?? packageRoot();
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const dirs = ["crd", "rbac", "manager", ...(opts.certManager ? ["certmanager"] : [])];
  const objects = dirs.flatMap((d) => readManifestDir(join(root, "config", d)));
  if (objects.length === 0) throw new Error(`no manifests under ${relative(process.cwd(), join(root, "config"))}`);

  const namespaces = objects.filter((o) => o.kind === "Namespace");
  const result = objects.filter((o) => o.kind !== "Namespace");
  // Exactly one Namespace, as clusterctl requires: the target one.
  const nsObject: ManifestObject = namespaces[0] ?? { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } };
  nsObject.metadata.name = namespace;
  result.unshift(nsObject);

  for (const o of result) {
    o.metadata.labels = { ...o.metadata.labels, [PROVIDER_LABEL]: PROVIDER_NAME };
    if (!isClusterScoped(o.kind)) o.metadata.namespace = namespace;
    if (o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding") {
      for (const s of (o["subjects"] as { kind?: string; namespace?: string }[] | undefined) ?? []) {
        if (s.kind === "ServiceAccount") s.namespace = namespace;
      }
    }
    if (opts.image && o.kind === "Deployment") setManagerImage(o, opts.image);
    rehomeWebhook(o, namespace);
  }
  return result.sort((a, b) => orderOf(a.kind) - orderOf(b.kind));
}

/** The conversion webhook's Service namespace, as named by CRDs (clientConfig, CA injection) and the Certificate. */
function rehomeWebhook(o: ManifestObject, namespace: string): void {
  const annotations = o.metadata["annotations"] as Record<string, string> | undefined;
  const inject = annotations?.["cert-manager.io/inject-ca-from"];
  if (annotations && inject) annotations["cert-manager.io/inject-ca-from"] = `${namespace}/${inject.split("/")[1] ?? ""}`;
  const spec = o["spec"] as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  const service = spec?.["conversion"]?.["webhook"]?.["clientConfig"]?.["service"] as { namespace?: string } | undefined;
  if (o.kind === "CustomResourceDefinition" && service) service.namespace = namespace;
  if (o.kind === "Certificate" && Array.isArray(spec?.["dnsNames"])) {
    spec["dnsNames"] = (spec["dnsNames"] as string[]).map((d) => d.replace(/^([^.]+)\.[^.]+\.svc/, `$1.${namespace}.svc`));
  }
}

interface Container {
  name: string;
  image?: string;
}

export function deploymentContainers(o: ManifestObject): Container[] {
  const spec = o["spec"] as { template?: { spec?: { containers?: Container[] } } } | undefined;
  return spec?.template?.spec?.containers ?? [];
}

function setManagerImage(o: ManifestObject, image: string): void {
  const manager = deploymentContainers(o).find((c) => c.name === MANAGER_CONTAINER);
  if (!manager) throw new Error(`Deployment ${o.metadata.name} has no container named "${MANAGER_CONTAINER}"`);
  manager.image = image;
}

/** "Kind/name" or "Kind namespace/name", for reports. */
export function describeObject(o: Pick<ManifestObject, "kind" | "metadata">): string {
  return o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}
