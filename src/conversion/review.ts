import { isObject } from "../manifests/convert/fields.js";
import type { JsonObject } from "../manifests/convert/fields.js";
import { ConversionError, convertObject, V1BETA1, V1BETA2 } from "./convert-object.js";

/**
 * apiextensions.k8s.io/v1 ConversionReview handling: the apiserver sends objects and the version it wants; we answer
 * with every object converted, or with a Failure naming the object that could not be.
 */

interface ConversionReview {
  apiVersion: string;
  kind: "ConversionReview";
  response: { uid: string; result: { status: "Success" | "Failure"; message?: string }; convertedObjects: unknown[] };
}

const TARGETS: Record<string, "v1beta1" | "v1beta2"> = { [V1BETA1]: "v1beta1", [V1BETA2]: "v1beta2" };

function describe(o: JsonObject): string {
  const meta = isObject(o["metadata"]) ? o["metadata"] : {};
  const ns = typeof meta["namespace"] === "string" ? `${meta["namespace"]}/` : "";
  return `${String(o["kind"] ?? "object")} ${ns}${String(meta["name"] ?? "")}`;
}

export function reviewConversion(body: unknown): ConversionReview {
  const review = isObject(body) ? body : {};
  const request = isObject(review["request"]) ? review["request"] : {};
  const uid = typeof request["uid"] === "string" ? request["uid"] : "";
  const reply = (status: "Success" | "Failure", convertedObjects: unknown[], message?: string): ConversionReview => ({
    apiVersion: typeof review["apiVersion"] === "string" ? review["apiVersion"] : "apiextensions.k8s.io/v1",
    kind: "ConversionReview",
    response: { uid, result: { status, ...(message ? { message } : {}) }, convertedObjects },
  });
  const target = TARGETS[String(request["desiredAPIVersion"])];
  if (!target) return reply("Failure", [], `capo converts only to ${V1BETA1} or ${V1BETA2}, not ${String(request["desiredAPIVersion"])}`);
  const objects = Array.isArray(request["objects"]) ? request["objects"] : [];
  const converted: unknown[] = [];
  for (const o of objects) {
    if (!isObject(o)) return reply("Failure", [], "request.objects holds something that is not an object");
    try {
      converted.push(convertObject(o, target));
    } catch (e) {
      if (!(e instanceof ConversionError)) throw e;
      return reply("Failure", [], `${describe(o)}: ${e.message}`);
    }
  }
  return reply("Success", converted);
}
