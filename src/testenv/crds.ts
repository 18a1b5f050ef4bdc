import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiextensionsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import type { KubernetesObject, V1CustomResourceDefinition } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { asClientModel } from "./client-model.js";

const FIELD_MANAGER = "capo-testenv";

/** Every CustomResourceDefinition in the *.yaml / *.yml files directly inside `dir` (sorted by file name). */
export async function readCrdFiles(dir: string): Promise<V1CustomResourceDefinition[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const crds: V1CustomResourceDefinition[] = [];
  for (const name of names) {
    const file = join(dir, name);
    for (const doc of parseAllDocuments(await readFile(file, "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: invalid YAML: ${doc.errors[0]?.message ?? ""}`);
      const obj = doc.toJS() as KubernetesObject | null;
      if (obj?.kind === "CustomResourceDefinition") crds.push(obj as V1CustomResourceDefinition);
    }
  }
  return crds;
}

/**
 * Applies (server-side apply) every CRD found in `dirs` and waits until each is Established, i.e. its resource
 * can be used. A missing directory contributes nothing. Returns the names of the CRDs installed.
 */
export async function installCrds(kubeconfigPath: string, dirs: string[], timeoutMs = 60_000): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const crdApi = kc.makeApiClient(ApiextensionsV1Api);

  const crds = (await Promise.all(dirs.map(readCrdFiles))).flat();
  for (const crd of crds) {
    try {
      await objects.patch(asClientModel(crd), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (e) {
      throw new Error(`installing CRD ${crd.metadata?.name ?? "?"}: ${describeApiError(e)}`);
    }
  }

  const names = crds.map((c) => c.metadata?.name ?? "");
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await crdApi.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}

/** The apiserver's own message from a client-node ApiException, else the error's message. */
export function describeApiError(e: unknown): string {
  if (e && typeof e === "object" && "body" in e) {
    const body = (e as { body: unknown }).body;
    try {
      const status = (typeof body === "string" ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return status.message;
    } catch {
      // Not JSON: fall through.
    }
  }
  return e instanceof Error ? e.message : String(e);
}
