import type { TSchema } from "@sinclair/typebox";
import { CONVERSION_WEBHOOK, CRD_LABELS, GROUP, LEGACY_VERSION, VERSION } from "../kinds.js";
import type { KindDefinition, PrinterColumn } from "../kinds.js";

/** JSON Schema keywords a CRD's structural openAPIV3Schema accepts (apiextensions.k8s.io/v1 JSONSchemaProps). */
const ALLOWED_KEYS = new Set([
  "type",
  "format",
  "description",
  "properties",
  "required",
  "items",
  "additionalProperties",
  "enum",
  "default",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "anyOf",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-map-type",
]);

/**
 * Turns a TypeBox schema into a structural CRD schema: drops TypeBox's internals and `additionalProperties: false`
 * (a CRD prunes unknown fields instead), maps records to `additionalProperties`, and sorts keys so the output is
 * stable.
 */
export function toStructural(schema: TSchema): Record<string, unknown> {
  const s = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (s["patternProperties"] && typeof s["patternProperties"] === "object") {
    const inner = Object.values(s["patternProperties"] as Record<string, TSchema>)[0];
    out["type"] = "object";
    if (inner) out["additionalProperties"] = toStructural(inner);
  }
  for (const key of Object.keys(s).sort()) {
    if (!ALLOWED_KEYS.has(key)) continue;
    const v = s[key];
    if (key === "additionalProperties") {
      if (typeof v === "object" && v !== null) out[key] = toStructural(v as TSchema);
      continue;
    }
    if (key === "properties") {
      const props: Record<string, unknown> = {};
      for (const p of Object.keys(v as object).sort()) props[p] = toStructural((v as Record<string, TSchema>)[p]!);
      out[key] = props;
    } else if (key === "items") {
      out[key] = toStructural(v as TSchema);
    } else if (key === "anyOf") {
      out[key] = (v as TSchema[]).map((x) => toStructural(x));
    } else if (key === "required") {
      const req = [...(v as string[])].sort();
      if (req.length > 0) out[key] = req;
    } else {
      out[key] = v;
    }
  }
  // x-kubernetes-int-or-string requires the anyOf branches to carry nothing but their type.
  if (out["x-kubernetes-int-or-string"] === true) {
    delete out["type"];
    out["anyOf"] = [{ type: "integer" }, { type: "string" }];
  }
  return out;
}

/** The whole-object schema of a CRD: metadata is the apiserver's business, so it is just `type: object`. */
function objectSchema(schema: TSchema): Record<string, unknown> {
  const root = toStructural(schema);
  const props = { ...(root["properties"] as Record<string, unknown>) };
  props["metadata"] = { type: "object" };
  props["apiVersion"] = {
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert " +
      "recognized schemas to the latest internal value, and may reject unrecognized values.",
    type: "string",
  };
  props["kind"] = {
    description: "Kind is a string value representing the REST resource this object represents.",
    type: "string",
  };
  return { ...root, properties: props };
}

function servedVersion(
  name: string,
  storage: boolean,
  schema: TSchema,
  columns: PrinterColumn[],
  statusSubresource: boolean,
): Record<string, unknown> {
  const version: Record<string, unknown> = { name, served: true, storage, schema: { openAPIV3Schema: objectSchema(schema) } };
  if (columns.length > 0) {
    version["additionalPrinterColumns"] = columns.map((c) => ({
      ...(c.description ? { description: c.description } : {}),
      jsonPath: c.jsonPath,
      name: c.name,
      ...(c.priority !== undefined ? { priority: c.priority } : {}),
      type: c.type,
    }));
  }
  if (statusSubresource) version["subresources"] = { status: {} };
  return version;
}

/**
 * The apiextensions.k8s.io/v1 CustomResourceDefinition of one kind, as a plain object: v1beta2 stored, upstream's
 * v1beta1 served and converted by our webhook. The webhook's CA comes from cert-manager's cainjector (annotation)
 * when cert-manager is installed, otherwise `capo controller` writes caBundle itself.
 */
export function buildCrd(def: KindDefinition): Record<string, unknown> {
  const hook = CONVERSION_WEBHOOK;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      annotations: { "cert-manager.io/inject-ca-from": `${hook.namespace}/${hook.certificate}` },
      labels: { ...CRD_LABELS },
    },
    spec: {
      group: GROUP,
      names: {
        categories: def.categories,
        kind: def.kind,
        listKind: def.listKind,
        plural: def.plural,
        shortNames: def.shortNames,
        singular: def.singular,
      },
      scope: "Namespaced",
      conversion: {
        strategy: "Webhook",
        webhook: {
          conversionReviewVersions: ["v1"],
          clientConfig: { service: { namespace: hook.namespace, name: hook.service, path: hook.path, port: 443 } },
        },
      },
      versions: [
        servedVersion(VERSION, true, def.schema, def.printerColumns, def.statusSubresource),
        servedVersion(LEGACY_VERSION, false, def.v1beta1.schema, def.v1beta1.printerColumns, def.statusSubresource),
      ],
    },
  };
}

export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}
