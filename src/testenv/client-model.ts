import { loadYaml } from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";

/**
 * Turns a plain object (as parsed from YAML/JSON) into client-node's model of its kind. KubernetesObjectApi
 * serializes built-in kinds through their generated models, which read TS attribute names: a plain CRD's
 * `x-kubernetes-int-or-string` (attribute `xKubernetesIntOrString`) would otherwise be silently dropped. Kinds the
 * client does not know (custom resources) pass through unchanged.
 */
export function asClientModel<T extends KubernetesObject>(plain: T): T {
  // JSON is YAML, and loadYaml is client-node's public way to deserialize by apiVersion/kind.
  return loadYaml<T>(JSON.stringify(plain));
}
