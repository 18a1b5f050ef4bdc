import { FormatRegistry } from "@sinclair/typebox";
import type { TSchema } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";
import { API_VERSION, kindDefinition, KINDS } from "./kinds.js";
import { celCheckFor, isCIDR, isIPv4, isRecord } from "./schema.js";
import type { CelRule } from "./schema.js";

/** The string formats our schemas use, checked the way the apiserver checks them. */
function registerFormats(): void {
  const formats: Record<string, (v: string) => boolean> = {
    uuid: (v) => /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(v),
    ipv4: isIPv4,
    cidr: isCIDR,
    "date-time": (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v),
  };
  for (const [name, check] of Object.entries(formats)) if (!FormatRegistry.Has(name)) FormatRegistry.Set(name, check);
}
registerFormats();

/** One problem with an object, at a dotted path such as `spec.ports[0].network.id`. */
export interface ValidationIssue {
  path: string;
  message: string;
}

function toDotted(pointer: string): string {
  if (pointer === "") return "(root)";
  return pointer
    .split("/")
    .slice(1)
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === "" ? seg : `${acc}.${seg}`), "");
}

function schemaIssues(schema: TSchema, obj: unknown): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const e of Value.Errors(schema, obj)) {
    const path = toDotted(e.path);
    let message = e.message;
    if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      message = "unknown field: not supported by this API version (the apiserver would drop or reject it)";
    } else if (e.type === ValueErrorType.ObjectRequiredProperty) {
      message = "required field is missing";
    } else if (e.type === ValueErrorType.ObjectMinProperties) {
      message = "must not be empty";
    } else if (e.type === ValueErrorType.StringFormat) {
      message = `must be a valid ${String(e.schema["format"])} (got ${JSON.stringify(e.value)})`;
    } else if (e.type === ValueErrorType.Union) {
      message = "must be an integer or a string";
    }
    out.push({ path, message });
  }
  return out;
}

/**
 * Runs what TypeBox leaves to the apiserver, walking schema and value together: `enum` on plain string/integer
 * schemas, and the CEL rules that have a TypeScript twin.
 */
function celIssues(schema: TSchema, value: unknown, path: string, out: ValidationIssue[]): void {
  if (value === undefined || value === null) return;
  const allowed = schema["enum"] as unknown[] | undefined;
  if (allowed && (typeof value === "string" || typeof value === "number") && !allowed.includes(value)) {
    out.push({
      path: path || "(root)",
      message: `unsupported value ${JSON.stringify(value)}: must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    });
  }
  const rules = schema["x-kubernetes-validations"] as CelRule[] | undefined;
  for (const r of rules ?? []) {
    const check = celCheckFor(r.rule);
    if (check && !check(value)) out.push({ path: path || "(root)", message: r.message });
  }
  if (schema["type"] === "object" && isRecord(value) && isRecord(schema["properties"])) {
    for (const [k, sub] of Object.entries(schema["properties"] as Record<string, TSchema>)) {
      if (k in value) celIssues(sub, value[k], path ? `${path}.${k}` : k, out);
    }
  } else if (schema["type"] === "array" && Array.isArray(value) && schema["items"]) {
    value.forEach((item, i) => celIssues(schema["items"] as TSchema, item, `${path}[${i}]`, out));
  }
}

/** Duplicate-key checks of x-kubernetes-list-type map/set lists, which the apiserver also enforces. */
function listIssues(schema: TSchema, value: unknown, path: string, out: ValidationIssue[]): void {
  if (value === undefined || value === null) return;
  if (schema["type"] === "object" && isRecord(value) && isRecord(schema["properties"])) {
    for (const [k, sub] of Object.entries(schema["properties"] as Record<string, TSchema>)) {
      if (k in value) listIssues(sub, value[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  if (schema["type"] !== "array" || !Array.isArray(value)) return;
  const listType = schema["x-kubernetes-list-type"];
  const keys = schema["x-kubernetes-list-map-keys"] as string[] | undefined;
  const seen = new Set<string>();
  value.forEach((item, i) => {
    let key: string | undefined;
    if (listType === "set") key = JSON.stringify(item);
    if (listType === "map" && keys && isRecord(item)) key = JSON.stringify(keys.map((k) => item[k]));
    if (key !== undefined) {
      if (seen.has(key)) out.push({ path: `${path}[${i}]`, message: `duplicate entry ${key}` });
      seen.add(key);
    }
    if (schema["items"]) listIssues(schema["items"] as TSchema, item, `${path}[${i}]`, out);
  });
}

/**
 * Validates an object of one of our kinds against its schema: types, required and unknown fields, formats, enums,
 * bounds, list keys and the CEL rules that need no old object. Returns every problem found, each naming its path;
 * an empty list means the apiserver will accept the object as far as the schema goes.
 */
export function validateObject(kind: string, obj: unknown): ValidationIssue[] {
  const def = kindDefinition(kind);
  if (!def) {
    return [{ path: "kind", message: `unknown kind ${kind}: expected one of ${KINDS.map((k) => k.kind).join(", ")}` }];
  }
  const issues = schemaIssues(def.schema, obj);
  if (isRecord(obj) && obj["apiVersion"] !== undefined && obj["apiVersion"] !== API_VERSION) {
    issues.push({ path: "apiVersion", message: `must be ${API_VERSION} (got ${String(obj["apiVersion"])})` });
  }
  celIssues(def.schema, obj, "", issues);
  listIssues(def.schema, obj, "", issues);
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** validateObject's issues as lines such as `OpenStackCluster default/basic-1: spec.nodeCidr: unknown field ...`. */
export function formatIssues(subject: string, issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${subject}: ${i.path}: ${i.message}`).join("\n");
}
