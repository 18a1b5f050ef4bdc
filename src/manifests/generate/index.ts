import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { kindDefinition, validateObject } from "../../api/index.js";
import { renderEnvVars, resolveCloud } from "../../clouds/index.js";
import { UserError, errorMessage } from "../../util/errors.js";
import { describeObject, parseDocuments, stringifyDocuments } from "../yaml.js";
import type { KubeObject } from "../yaml.js";
import { envsubst, templateVariables } from "./envsubst.js";

export { FLAVORS, type TemplateFlavor } from "./flavors.js";
import { FLAVORS, type TemplateFlavor } from "./flavors.js";

export interface GenerateOptions {
  clusterName: string;
  namespace?: string;
  flavor?: TemplateFlavor;
  kubernetesVersion?: string;
  controlPlaneCount?: number;
  workerCount?: number;
  /** Cloud in clouds.yaml; with cloudsFile, where clouds.yaml is. */
  cloud?: string;
  cloudsFile?: string;
  /** External network: a UUID becomes externalNetwork.id, anything else externalNetwork.filter.name. */
  externalNetwork?: string;
  image?: string;
  controlPlaneFlavor?: string;
  workerFlavor?: string;
  sshKeyName?: string;
  dnsServers?: string[];
  failureDomain?: string;
  /** Variables as clusterctl reads them (e.g. set by `capo env`); options win. Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  templatesDir?: string;
}

export interface GenerateResult {
  objects: KubeObject[];
  yaml: string;
  /** Things accepted but probably not meant (e.g. clouds.yaml keys that are ignored); the CLI prints them to stderr. */
  warnings: string[];
}

/** Which option (or variable) supplies each template variable, for the missing-values message. */
const HINTS: Record<string, string> = {
  CLUSTER_NAME: "the NAME argument",
  KUBERNETES_VERSION: "--kubernetes-version",
  OPENSTACK_CLOUD: "--cloud (and --clouds-file)",
  OPENSTACK_CLOUD_YAML_B64: "--cloud (and --clouds-file)",
  OPENSTACK_CLOUD_PROVIDER_CONF_B64: "--cloud (and --clouds-file)",
  OPENSTACK_EXTERNAL_NETWORK_ID: "--external-network NAME|ID",
  OPENSTACK_IMAGE_NAME: "--image",
  OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR: "--control-plane-flavor",
  OPENSTACK_NODE_MACHINE_FLAVOR: "--worker-flavor",
  OPENSTACK_DNS_NAMESERVERS: "--dns-servers",
  OPENSTACK_FAILURE_DOMAIN: "--failure-domain",
};

/** Stands in for an external network given by name until the rendered object is rewritten to a filter. */
const NETWORK_BY_NAME = "00000000-0000-4000-8000-0000000e0000";
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CLOUD_VARS = ["OPENSTACK_CLOUD", "OPENSTACK_CLOUD_YAML_B64", "OPENSTACK_CLOUD_CACERT_B64", "OPENSTACK_CLOUD_PROVIDER_CONF_B64"];

/** The repository/package root: templates/ lives there, both in src (tests) and dist (the built CLI). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the capo package root (package.json)");
    dir = parent;
  }
  return dir;
}

export function templatePath(flavor: TemplateFlavor, templatesDir?: string): string {
  const dir = templatesDir ?? path.join(packageRoot(), "templates");
  return path.join(dir, flavor === "default" ? "cluster-template.yaml" : `cluster-template-${flavor}.yaml`);
}

function isDnsLabel(s: string): boolean {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63;
}

/** Problems with the values themselves, found before rendering. */
function checkValues(
  opts: GenerateOptions,
  vars: Record<string, string | undefined>,
  used: ReadonlySet<string>,
  problems: string[],
): void {
  if (!isDnsLabel(opts.clusterName)) {
    problems.push(`NAME "${opts.clusterName}": must be a DNS label (lowercase letters, digits, '-'; at most 63 characters)`);
  }
  if (opts.namespace !== undefined && !isDnsLabel(opts.namespace)) {
    problems.push(`--namespace "${opts.namespace}": must be a DNS label`);
  }
  const version = vars["KUBERNETES_VERSION"];
  if (version !== undefined && !/^v\d+\.\d+\.\d+([-+].*)?$/.test(version)) {
    problems.push(`--kubernetes-version "${version}": must look like v1.31.4`);
  }
  for (const [name, flag] of [
    ["CONTROL_PLANE_MACHINE_COUNT", "--control-plane-count"],
    ["WORKER_MACHINE_COUNT", "--worker-count"],
  ] as const) {
    const v = vars[name];
    if (v !== undefined && !/^\d+$/.test(v)) problems.push(`${flag} "${v}": must be a whole number`);
  }
  // Values are pasted into YAML inside double quotes (as clusterctl does): keep them from breaking out.
  for (const [name, v] of Object.entries(vars)) {
    if (used.has(name) && v !== undefined && /["\\\n]/.test(v)) problems.push(`${name}: value must not contain quotes, backslashes or newlines`);
  }
}

async function cloudVariables(
  opts: GenerateOptions,
  env: NodeJS.ProcessEnv,
  problems: string[],
  warnings: string[],
): Promise<Record<string, string>> {
  const fromEnv = !opts.cloud && !opts.cloudsFile && env["OPENSTACK_CLOUD_YAML_B64"];
  if (fromEnv) {
    const out: Record<string, string> = {};
    for (const k of CLOUD_VARS) if (env[k] !== undefined) out[k] = env[k]!;
    return out;
  }
  try {
    const cloud = await resolveCloud({ file: opts.cloudsFile, cloud: opts.cloud, env, cwd: opts.cwd });
    warnings.push(...(cloud.warnings ?? []));
    const rendered = renderEnvVars(cloud);
    const out: Record<string, string> = {};
    for (const k of CLOUD_VARS) if (rendered[k] !== undefined) out[k] = rendered[k];
    return out;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    problems.push(`cloud: ${errorMessage(e)}`);
    return {};
  }
}

/**
 * Renders a cluster template with clusterctl's variable syntax into complete manifests: the identity Secret,
 * OpenStackCluster, Cluster, machine templates, KubeadmControlPlane, KubeadmConfigTemplate, MachineDeployment and
 * MachineHealthChecks, all in `namespace`. Every missing or invalid value is reported in one UserError.
 */
export async function generateCluster(opts: GenerateOptions): Promise<GenerateResult> {
  const env = opts.env ?? process.env;
  const flavor = opts.flavor ?? "default";
  if (!FLAVORS.includes(flavor)) {
    throw new UserError(`--flavor ${String(flavor)}: must be one of ${FLAVORS.join(", ")}`);
  }
  const template = await readFile(templatePath(flavor, opts.templatesDir), "utf8");
  const problems: string[] = [];
  const warnings: string[] = [];

  const vars: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && /^[A-Z0-9_]+$/.test(k)) vars[k] = v;
  Object.assign(vars, await cloudVariables(opts, env, problems, warnings));
  const set = (name: string, v: string | number | undefined) => {
    if (v !== undefined) vars[name] = String(v);
  };
  set("CLUSTER_NAME", opts.clusterName);
  set("NAMESPACE", opts.namespace);
  set("KUBERNETES_VERSION", opts.kubernetesVersion);
  set("CONTROL_PLANE_MACHINE_COUNT", opts.controlPlaneCount);
  set("WORKER_MACHINE_COUNT", opts.workerCount);
  set("OPENSTACK_IMAGE_NAME", opts.image);
  set("OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR", opts.controlPlaneFlavor);
  set("OPENSTACK_NODE_MACHINE_FLAVOR", opts.workerFlavor);
  set("OPENSTACK_SSH_KEY_NAME", opts.sshKeyName);
  set("OPENSTACK_FAILURE_DOMAIN", opts.failureDomain);
  if (opts.dnsServers && opts.dnsServers.length > 0) {
    vars["OPENSTACK_DNS_NAMESERVERS"] = opts.dnsServers.map((d) => JSON.stringify(d.trim())).join(", ");
  }
  let networkName: string | undefined;
  if (opts.externalNetwork !== undefined) {
    if (UUID.test(opts.externalNetwork)) vars["OPENSTACK_EXTERNAL_NETWORK_ID"] = opts.externalNetwork;
    else {
      networkName = opts.externalNetwork;
      vars["OPENSTACK_EXTERNAL_NETWORK_ID"] = NETWORK_BY_NAME;
    }
  }
  const used = new Set(templateVariables(template).map((v) => v.name));
  used.delete("OPENSTACK_DNS_NAMESERVERS"); // a YAML flow list: its items are quoted on purpose
  checkValues(opts, vars, used, problems);

  const { text, missing } = envsubst(template, vars);
  const missingLines = missing.map((m) => `${m}${HINTS[m] ? ` (${HINTS[m]})` : ""}`);
  if (missingLines.length > 0) problems.unshift(`missing values: ${missingLines.join(", ")}`);
  if (problems.length > 0) {
    throw new UserError(`cannot generate cluster ${opts.clusterName}:\n  - ${problems.join("\n  - ")}`);
  }

  const namespace = opts.namespace ?? "default";
  const objects: KubeObject[] = parseDocuments(text, templatePath(flavor, opts.templatesDir)).map((o) => ({
    ...o,
    metadata: { ...o.metadata, namespace },
  }));
  for (const o of objects) {
    if (networkName !== undefined && o.kind === "OpenStackCluster") {
      (o["spec"] as Record<string, unknown>)["externalNetwork"] = { filter: { name: networkName } };
    }
  }
  const invalid: string[] = [];
  for (const o of objects) {
    if (!o.kind || !kindDefinition(o.kind)) continue;
    for (const i of validateObject(o.kind, o)) invalid.push(`${describeObject(o)}: ${i.path}: ${i.message}`);
  }
  if (invalid.length > 0) {
    throw new UserError(`cannot generate cluster ${opts.clusterName}: invalid values:\n  - ${invalid.join("\n  - ")}`);
  }
  return { objects, yaml: stringifyDocuments(objects), warnings };
}
