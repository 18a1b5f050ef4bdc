import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient, ResourceType } from "../runtime/index.js";

/** The REST resource of an object from the manifests: every kind we generate pluralises as lower-case kind + "s". */
export function resourceTypeOf(obj: KubernetesObject): ResourceType {
  const apiVersion = obj.apiVersion ?? "";
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const kind = obj.kind ?? "";
  return { group, version, kind, plural: `${kind.toLowerCase()}s` };
}

/** Server-side applies each object in order (conflicts forced: the demo owns these objects). */
export async function applyObjects(client: KubeClient, objects: KubernetesObject[], fieldManager: string): Promise<void> {
  for (const obj of objects) {
    await client.patch(resourceTypeOf(obj), obj.metadata?.name ?? "", obj, "apply", {
      namespace: obj.metadata?.namespace,
      fieldManager,
      force: true,
    });
  }
}
