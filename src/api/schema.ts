import { Type } from "@sinclair/typebox";
import type { TSchema, TProperties, ObjectOptions, StringOptions, ArrayOptions } from "@sinclair/typebox";

/**
 * Building blocks for our API definitions. Every schema here is plain JSON Schema (TypeBox), so the same object is
 * validated in TypeScript, turned into a CRD openAPIV3Schema and rendered into docs/api.md.
 *
 * Kubernetes extension keywords (x-kubernetes-*) ride along as schema options. CEL rules are registered with a
 * TypeScript twin (see `celRule`) so `validateObject` can enforce the same rule before anything reaches the apiserver.
 */

/** A CEL rule as it appears in a CRD's x-kubernetes-validations list. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

/** The TypeScript implementation of a non-transition CEL rule: returns true when `self` satisfies the rule. */
type CelCheck = (self: unknown) => boolean;

const celChecks = new Map<string, CelCheck>();

/** Declares a CEL rule; `check`, when given, lets validateObject enforce it client-side. */
export function celRule(rule: string, message: string, check?: CelCheck, extra: Partial<CelRule> = {}): CelRule {
  if (check) celChecks.set(rule, check);
  return { rule, message, ...extra };
}

/** The TypeScript twin of a CEL rule, if it has one (transition rules with oldSelf have none). */
export function celCheckFor(rule: string): CelCheck | undefined {
  return celChecks.get(rule);
}

/** Lengths that bound CEL cost estimates; generous enough for every real OpenStack value. */
export const MaxLen = { name: 255, id: 255, description: 255, long: 1024, tag: 255, ip: 64 } as const;

/** A closed object: unknown fields are errors (the CRD prunes them; we report them by name first). */
export function Obj<T extends TProperties>(description: string, properties: T, options: ObjectOptions = {}) {
  return Type.Object(properties, { description, additionalProperties: false, ...options });
}

/** A string with a bounded length. */
export function Str(description: string, options: StringOptions & Record<string, unknown> = {}) {
  return Type.String({ description, maxLength: MaxLen.name, ...options });
}

/** A non-empty bounded string. */
export function NonEmptyStr(description: string, options: StringOptions & Record<string, unknown> = {}) {
  return Str(description, { minLength: 1, ...options });
}

export function Bool(description: string, options: Record<string, unknown> = {}) {
  return Type.Boolean({ description, ...options });
}

export function Int32(description: string, options: Record<string, unknown> = {}) {
  return Type.Integer({ description, format: "int32", ...options });
}

export function Int64(description: string, options: Record<string, unknown> = {}) {
  return Type.Integer({ description, format: "int64", ...options });
}

/** A list with a bounded number of items. */
export function List<T extends TSchema>(
  description: string,
  items: T,
  listType: "atomic" | "set" | { mapKeys: string[] },
  options: ArrayOptions & Record<string, unknown> = {},
) {
  const listOpts: Record<string, unknown> =
    typeof listType === "string"
      ? { "x-kubernetes-list-type": listType }
      : { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": listType.mapKeys };
  return Type.Array(items, { description, maxItems: 64, ...listOpts, ...options });
}

/** A set of short strings (tags, zones, names). */
export function StringSet(description: string, options: ArrayOptions & Record<string, unknown> = {}) {
  return List(description, Type.String({ maxLength: MaxLen.tag, minLength: 1 }), "set", options);
}

export function StringMap(description: string) {
  return Type.Record(Type.String(), Type.String({ maxLength: MaxLen.long }), { description, maxProperties: 64 });
}

function isIPAddress(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.includes(":::")) return false;
  const dbl = s.split("::");
  if (dbl.length > 2) return false;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(dbl[0] ?? "");
  const tail = dbl.length === 2 ? groups(dbl[1] ?? "") : [];
  const all = [...head, ...tail];
  let count = all.length;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes(".")) {
    if (!isIPv4(last)) return false;
    count += 1;
    all.pop();
  }
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return dbl.length === 2 ? count < 8 : count === 8;
}

/** True when `s` is a CIDR such as 10.6.0.0/24 or fd00::/64 (the same shape Kubernetes' format "cidr" accepts). */
export function isCIDR(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
  if (isIPv4(ip)) return Number(bits) <= 32;
  if (isIPv6(ip)) return Number(bits) <= 128;
  return false;
}

export { isIPAddress as isIP, isIPv4 };

/** An IPv4 or IPv6 address, checked by the apiserver with CEL isIP() (Kubernetes 1.31+). */
export function IPAddress(description: string) {
  return Type.String({
    description,
    maxLength: MaxLen.ip,
    "x-kubernetes-validations": [
      celRule("isIP(self)", "must be a valid IP address", (v) => typeof v === "string" && isIPAddress(v)),
    ],
  });
}

/** An IPv4 address (JSON Schema format ipv4, which the apiserver validates). */
export function IPv4Address(description: string) {
  return Type.String({ description, format: "ipv4", maxLength: 15 });
}

/** A CIDR (format cidr, which the apiserver validates). */
export function CIDR(description: string) {
  return Type.String({ description, format: "cidr", maxLength: 64, minLength: 1 });
}

/** An OpenStack UUID (format uuid, as upstream). */
export function UUID(description: string) {
  return Type.String({ description, format: "uuid", maxLength: 36 });
}

/**
 * A reference to an OpenStack resource by `id` or by `filter`: exactly one of the two. Upstream expresses this with
 * minProperties/maxProperties; a CEL rule does the same and tells the user what is wrong.
 */
export function IdOrFilter<F extends TSchema>(description: string, idDescription: string, filter: F, uuid = true) {
  return Obj(
    description,
    {
      id: Type.Optional(uuid ? UUID(idDescription) : NonEmptyStr(idDescription)),
      filter: Type.Optional(filter),
    },
    { "x-kubernetes-validations": [exactlyOneOfIdOrFilter] },
  );
}

const exactlyOneOfIdOrFilter = celRule(
  "has(self.id) != has(self.filter)",
  "exactly one of id or filter must be set",
  (v) => isRecord(v) && ("id" in v) !== ("filter" in v),
);

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** metav1.Condition, as every v1beta2 CAPI provider reports it. */
export const Condition = Obj("Condition is one aspect of the current state of the object (metav1.Condition).", {
  type: Type.String({
    description: "type of the condition in CamelCase, e.g. Ready.",
    maxLength: 316,
    pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
  }),
  status: Type.String({ description: "status of the condition: True, False or Unknown.", enum: ["True", "False", "Unknown"] }),
  observedGeneration: Type.Optional(
    Int64("observedGeneration is the .metadata.generation the condition was set for.", { minimum: 0 }),
  ),
  lastTransitionTime: Type.String({
    description: "lastTransitionTime is when the condition last changed from one status to another.",
    format: "date-time",
  }),
  reason: Type.String({
    description: "reason is a programmatic CamelCase identifier for the last transition.",
    maxLength: 1024,
    minLength: 1,
    pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
  }),
  message: Type.String({ description: "message is a human readable explanation of the transition.", maxLength: 32768 }),
});

export const Conditions = List(
  "conditions represent the observations of the object's current state, in metav1.Condition form. " +
    "The Ready condition is mirrored by Cluster API into the owner's InfrastructureReady condition.",
  Condition,
  { mapKeys: ["type"] },
  { maxItems: 32 },
);
