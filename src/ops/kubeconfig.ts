import { chmod, writeFile } from "node:fs/promises";
import { UserError } from "../util/errors.js";
import { isNotFoundError, kubeFailure, type KubeTarget } from "./kube.js";

interface Secret {
  data?: Record<string, string>;
}

/**
 * The workload cluster's admin kubeconfig, which Cluster API keeps in Secret `<cluster>-kubeconfig` under key
 * `value`. A missing Secret means the control plane has not been initialized yet.
 */
export async function readWorkloadKubeconfig(target: KubeTarget, cluster: string, namespace: string): Promise<string> {
  const name = `${cluster}-kubeconfig`;
  let secret: Secret;
  try {
    secret = await target.client.request<Secret>("GET", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
  } catch (e) {
    if (isNotFoundError(e)) {
      throw new UserError(
        `no kubeconfig for cluster ${namespace}/${cluster} yet: Secret ${namespace}/${name} does not exist. ` +
          "Cluster API writes it once the control plane is initialized; check progress with " +
          `\`capo describe cluster ${cluster} -n ${namespace}\` (or pass the right -n NAMESPACE)`,
      );
    }
    throw kubeFailure(e, target, `reading Secret ${namespace}/${name}`);
  }
  const value = secret.data?.["value"];
  if (!value) {
    throw new UserError(`Secret ${namespace}/${name} has no key "value": it is not a Cluster API kubeconfig Secret`);
  }
  return Buffer.from(value, "base64").toString("utf8");
}

/** Writes a kubeconfig readable by its owner only (it holds cluster-admin credentials). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  // The mode above applies only to new files; an existing file keeps its mode unless set again.
  await chmod(path, 0o600);
}
