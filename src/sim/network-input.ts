import { neutronError } from "./errors.js";
import type { SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import { isUuidLike } from "./world.js";

/** Neutron's request-body checks with its own 400 messages. */

export function body(req: SimRequest, resource: string, allowed: readonly string[], required: readonly string[] = []): Record<string, unknown> {
  const root = asRecord(req.body);
  if (!root) throw neutronError(400, "HTTPBadRequest", "Resource body required");
  const r = asRecord(root[resource]);
  if (!r) throw neutronError(400, "HTTPBadRequest", `Unable to find '${resource}' in request body`);
  const unknown = Object.keys(r).filter((k) => !allowed.includes(k));
  if (unknown.length) throw neutronError(400, "HTTPBadRequest", `Unrecognized attribute(s) '${unknown.join(", ")}'`);
  for (const k of required) {
    if (r[k] === undefined) throw neutronError(400, "HTTPBadRequest", `Failed to parse request. Required attribute '${k}' not specified`);
  }
  return r;
}

export function str(r: Record<string, unknown>, k: string, maxLen = 255): string | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${JSON.stringify(v)}' is not a valid string.`);
  if (v.length > maxLen) throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${v}' exceeds maximum length of ${maxLen}.`);
  return v;
}

export function bool(r: Record<string, unknown>, k: string): boolean | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && ["true", "false"].includes(v.toLowerCase())) return v.toLowerCase() === "true";
  throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${JSON.stringify(v)}' is not a valid boolean value.`);
}

export function uuidField(r: Record<string, unknown>, k: string): string | undefined {
  const v = r[k];
  if (v === undefined || v === null) return undefined;
  if (!isUuidLike(v)) throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${String(v)}' is not a valid UUID.`);
  return v;
}

export function tagList(r: Record<string, unknown>, k = "tags"): string[] | undefined {
  const v = r[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((t) => typeof t === "string" && t.length > 0 && t.length <= 255 && !t.includes(","))) {
    throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${JSON.stringify(v)}' is not a valid list of tags.`);
  }
  return [...new Set(v as string[])];
}
