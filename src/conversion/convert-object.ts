import { isDeepStrictEqual } from "node:util";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { GROUP } from "../api/kinds.js";
import { OpenStackCluster } from "../api/openstackcluster.js";
import { OpenStackMachine } from "../api/openstackmachine.js";
import { OpenStackClusterTemplate, OpenStackMachineTemplate } from "../api/templates.js";
import {
  OpenStackClusterTemplateV1beta1,
  OpenStackClusterV1beta1,
  OpenStackMachineTemplateV1beta1,
  OpenStackMachineV1beta1,
} from "../api/v1beta1/types.js";
import { isObject, Tracker } from "../manifests/convert/fields.js";
import type { JsonObject } from "../manifests/convert/fields.js";
import { v1beta1ClusterSpec, v1beta1MachineSpec } from "../manifests/convert/openstack.js";
import {
  clusterSpecToV1beta1,
  clusterStatusToV1beta1,
  clusterStatusToV1beta2,
  machineSpecToV1beta1,
  machineStatusToV1beta1,
  machineStatusToV1beta2,
} from "./v1beta1-fields.js";

/**
 * Live-object conversion between upstream's v1beta1 and our v1beta2 (storage), as the conversion webhook does it.
 *
 * Lossless both ways, the way Cluster API providers do it: when a part (spec or status) of the source has fields the
 * target cannot hold, the source part is kept as JSON in the CONVERSION_DATA annotation of the converted object. On
 * the way back the kept part is restored, but only if it still converts to what the object holds now (so an edit
 * made in the other version always wins over the kept copy).
 */
export const CONVERSION_DATA = `${GROUP}/conversion-data`;
export const V1BETA1 = `${GROUP}/v1beta1`;
export const V1BETA2 = `${GROUP}/v1beta2`;

type Part = "spec" | "status";
type Mapper = (v: JsonObject) => JsonObject;
interface PartMappers {
  up: Mapper;
  down: Mapper;
}
interface KindConversion {
  v1beta1: TSchema;
  v1beta2: TSchema;
  parts: Partial<Record<Part, PartMappers>>;
}

/** Drops undefined values (JSON has none) so results compare and serialise alike. */
const clean = (v: JsonObject): JsonObject => JSON.parse(JSON.stringify(v)) as JsonObject;

function forward(convert: (t: Tracker, f: ReturnType<Tracker["open"]>) => JsonObject): Mapper {
  return (v) => {
    const t = new Tracker();
    return clean(convert(t, t.open(v, "spec")));
  };
}

const clusterSpecUp = forward(v1beta1ClusterSpec);
const machineSpecUp = forward(v1beta1MachineSpec);

/** Wraps a spec mapper for a template's spec.template.spec; v1beta1 templates have no template metadata. */
function templated(map: Mapper): Mapper {
  return (v) => {
    const tpl = isObject(v["template"]) ? v["template"] : {};
    return { template: { spec: map(isObject(tpl["spec"]) ? tpl["spec"] : {}) } };
  };
}

const CONVERSIONS: Record<string, KindConversion> = {
  OpenStackCluster: {
    v1beta1: OpenStackClusterV1beta1,
    v1beta2: OpenStackCluster,
    parts: {
      spec: { up: clusterSpecUp, down: (s) => clean(clusterSpecToV1beta1(s)) },
      status: { up: (s) => clean(clusterStatusToV1beta2(s)), down: (s) => clean(clusterStatusToV1beta1(s)) },
    },
  },
  OpenStackMachine: {
    v1beta1: OpenStackMachineV1beta1,
    v1beta2: OpenStackMachine,
    parts: {
      spec: { up: machineSpecUp, down: (s) => clean(machineSpecToV1beta1(s)) },
      status: { up: (s) => clean(machineStatusToV1beta2(s)), down: (s) => clean(machineStatusToV1beta1(s)) },
    },
  },
  OpenStackClusterTemplate: {
    v1beta1: OpenStackClusterTemplateV1beta1,
    v1beta2: OpenStackClusterTemplate,
    parts: { spec: { up: templated(clusterSpecUp), down: templated((s) => clean(clusterSpecToV1beta1(s))) } },
  },
  OpenStackMachineTemplate: {
    v1beta1: OpenStackMachineTemplateV1beta1,
    v1beta2: OpenStackMachineTemplate,
    parts: {
      spec: { up: templated(machineSpecUp), down: templated((s) => clean(machineSpecToV1beta1(s))) },
      status: {
        up: (s) => clean({ capacity: s["capacity"], nodeInfo: s["nodeInfo"] }),
        down: (s) => clean({ capacity: s["capacity"], nodeInfo: s["nodeInfo"] }),
      },
    },
  },
};

export class ConversionError extends Error {}

/** The part with the schema's defaults applied, as the apiserver applies them after conversion. */
function defaulted(schema: TSchema, part: Part, value: JsonObject): JsonObject {
  const whole = Value.Default(schema, { [part]: structuredClone(value) }) as JsonObject;
  return (whole[part] as JsonObject | undefined) ?? {};
}

interface KeptParts {
  v1beta1?: Partial<Record<Part, JsonObject>>;
  v1beta2?: Partial<Record<Part, JsonObject>>;
}

function readKept(obj: JsonObject): KeptParts {
  const meta = isObject(obj["metadata"]) ? obj["metadata"] : {};
  const raw = isObject(meta["annotations"]) ? meta["annotations"][CONVERSION_DATA] : undefined;
  if (typeof raw !== "string") return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return isObject(parsed) ? (parsed as KeptParts) : {};
  } catch {
    return {}; // A hand-edited, broken annotation: convert field by field.
  }
}

/**
 * Converts `obj` to `target` ("v1beta1" or "v1beta2"). Objects already in the target version come back unchanged.
 */
export function convertObject(obj: JsonObject, target: "v1beta1" | "v1beta2"): JsonObject {
  const kind = String(obj["kind"] ?? "");
  const conv = CONVERSIONS[kind];
  if (!conv) throw new ConversionError(`kind ${kind} is not served by capo`);
  const targetApiVersion = target === "v1beta1" ? V1BETA1 : V1BETA2;
  if (obj["apiVersion"] === targetApiVersion) return obj;
  const source = target === "v1beta1" ? "v1beta2" : "v1beta1";
  if (obj["apiVersion"] !== (source === "v1beta1" ? V1BETA1 : V1BETA2)) {
    throw new ConversionError(`apiVersion ${String(obj["apiVersion"])} cannot be converted to ${targetApiVersion}`);
  }
  const kept = readKept(obj)[target] ?? {};
  const fromSchema = conv[source];
  const out: JsonObject = { ...obj, apiVersion: targetApiVersion };
  const keep: Partial<Record<Part, JsonObject>> = {};
  for (const part of ["spec", "status"] as const) {
    const value = obj[part];
    const mappers = conv.parts[part];
    if (!isObject(value) || !mappers) continue;
    const there = target === "v1beta1" ? mappers.down : mappers.up;
    const back = target === "v1beta1" ? mappers.up : mappers.down;
    const restored = kept[part];
    const current = defaulted(fromSchema, part, value);
    // The kept copy wins if it still maps to what the object holds now.
    const converted =
      restored && isDeepStrictEqual(defaulted(fromSchema, part, back(restored)), current) ? restored : there(value);
    out[part] = converted;
    if (!isDeepStrictEqual(defaulted(fromSchema, part, back(converted)), current)) keep[part] = value;
  }
  out["metadata"] = withKept(obj["metadata"], Object.keys(keep).length > 0 ? { [source]: keep } : undefined);
  return out;
}

function withKept(metadata: unknown, kept: KeptParts | undefined): JsonObject {
  const meta: JsonObject = isObject(metadata) ? { ...metadata } : {};
  const annotations: Record<string, unknown> = isObject(meta["annotations"]) ? { ...meta["annotations"] } : {};
  delete annotations[CONVERSION_DATA];
  if (kept) annotations[CONVERSION_DATA] = JSON.stringify(kept);
  if (Object.keys(annotations).length > 0) meta["annotations"] = annotations;
  else delete meta["annotations"];
  return meta;
}
