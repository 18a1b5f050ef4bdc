import { gunzipSync } from "node:zlib";
import { parse, parseAllDocuments } from "yaml";

/**
 * What a VM learns from its kubeadm cloud-init user data (as written by Cluster API's kubeadm bootstrap provider):
 * the files under /etc/kubernetes/pki and /run/kubeadm, and whether it runs `kubeadm init` or `kubeadm join`.
 */
export interface KubeadmBoot {
  /** nodeRegistration.name with cloud-init's hostname placeholders resolved to the server's name. */
  nodeName: string;
  controlPlane: boolean;
  /** host:port the node registers with: controlPlaneEndpoint (init) or the join discovery endpoint. */
  endpoint: string;
  /** Present for `kubeadm init` only: what the first control plane brings to the new cluster. */
  init?: KubeadmInit;
}

export interface KubeadmInit {
  caCert: string;
  caKey: string;
  etcdCaCert: string;
  etcdCaKey: string;
  /** The ClusterConfiguration document, as kubeadm stores it in kube-system/kubeadm-config. */
  clusterConfiguration: string;
  kubernetesVersion: string;
}

interface WriteFile {
  path?: string;
  content?: string;
  encoding?: string;
}

/** cloud-init's instance-data names for the hostname, which CAPI templates use as the node name. */
const HOSTNAME_PLACEHOLDER = /^\{\{\s*(?:ds\.meta_data\.|v1\.)?(?:local_hostname|name)\s*\}\}$/;

/**
 * Reads kubeadm cloud-init user data (base64, as Nova holds it). Anything else (no user data, Ignition, a script)
 * gives undefined: such a server boots, but no kubeadm runs on it.
 */
export function readKubeadmUserData(userDataBase64: string | null, serverName: string): KubeadmBoot | undefined {
  if (!userDataBase64) return undefined;
  const text = Buffer.from(userDataBase64, "base64").toString("utf8");
  if (!/^#cloud-config\b/m.test(text)) return undefined;
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  const files = new Map<string, string>();
  for (const f of ((doc as { write_files?: WriteFile[] } | null)?.write_files ?? [])) {
    if (f.path && typeof f.content === "string") files.set(f.path, decodeContent(f));
  }
  const configText = files.get("/run/kubeadm/kubeadm.yaml") ?? files.get("/run/kubeadm/kubeadm-join-config.yaml");
  if (!configText) return undefined;
  const docs = parseAllDocuments(configText).map((d) => ({ text: String(d), value: d.toJSON() as Record<string, unknown> | null }));
  const byKind = (kind: string) => docs.find((d) => d.value?.["kind"] === kind);
  const init = byKind("InitConfiguration");
  const join = byKind("JoinConfiguration");
  const cluster = byKind("ClusterConfiguration");
  const registration = ((init ?? join)?.value?.["nodeRegistration"] ?? {}) as { name?: string };
  const nodeName = !registration.name || HOSTNAME_PLACEHOLDER.test(registration.name) ? serverName : registration.name;
  if (init && cluster) return initBoot(nodeName, cluster.text, cluster.value ?? {}, files);
  if (!join) return undefined;
  const j = join.value ?? {};
  const endpoint = (j["discovery"] as { bootstrapToken?: { apiServerEndpoint?: string } } | undefined)?.bootstrapToken?.apiServerEndpoint;
  if (!endpoint) return undefined;
  return { nodeName, controlPlane: j["controlPlane"] !== undefined && j["controlPlane"] !== null, endpoint: withPort(endpoint) };
}

function initBoot(nodeName: string, clusterText: string, cluster: Record<string, unknown>, files: Map<string, string>): KubeadmBoot | undefined {
  const endpoint = cluster["controlPlaneEndpoint"];
  const pki = (name: string) => files.get(`/etc/kubernetes/pki/${name}`);
  const [caCert, caKey, etcdCaCert, etcdCaKey] = [pki("ca.crt"), pki("ca.key"), pki("etcd/ca.crt"), pki("etcd/ca.key")];
  if (typeof endpoint !== "string" || !caCert || !caKey || !etcdCaCert || !etcdCaKey) return undefined;
  return {
    nodeName,
    controlPlane: true,
    endpoint: withPort(endpoint),
    init: {
      caCert,
      caKey,
      etcdCaCert,
      etcdCaKey,
      clusterConfiguration: clusterText.replace(/^---\s*\n/, ""),
      kubernetesVersion: typeof cluster["kubernetesVersion"] === "string" ? cluster["kubernetesVersion"] : "",
    },
  };
}

function decodeContent(f: WriteFile): string {
  const content = f.content ?? "";
  switch (f.encoding) {
    case "b64":
    case "base64":
      return Buffer.from(content, "base64").toString("utf8");
    case "gz+b64":
    case "gzip+base64":
    case "gz+base64":
    case "gzip+b64":
      return gunzipSync(Buffer.from(content, "base64")).toString("utf8");
    default:
      return content;
  }
}

/** kubeadm's default API server port when the endpoint names only a host. */
function withPort(endpoint: string): string {
  return /:\d+$/.test(endpoint) ? endpoint : `${endpoint}:6443`;
}
