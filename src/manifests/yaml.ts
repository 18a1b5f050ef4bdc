import { parseAllDocuments, stringify } from "yaml";
import { UserError } from "../util/errors.js";

/** A Kubernetes object as read from YAML: only apiVersion/kind/metadata are assumed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Every non-empty document of a multi-document YAML text, in order. */
export function parseDocuments(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      throw new UserError(`${source}: invalid YAML: ${e.message.split("\n")[0] ?? ""}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new UserError(`${source}: every YAML document must be a Kubernetes object (a mapping)`);
    }
    out.push(value as KubeObject);
  }
  return out;
}

/** Objects as one multi-document YAML text. */
export function stringifyDocuments(objects: readonly object[]): string {
  return objects.map((o) => "---\n" + stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("");
}

/** "Kind namespace/name" for messages. */
export function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "(no name)";
  return `${obj.kind ?? "(no kind)"} ${ns ? `${ns}/` : ""}${name}`;
}
