import { celRule } from "./schema.js";
import type { CelRule } from "./schema.js";

/**
 * CEL transition rules standing in for upstream's update webhooks. They are attached to the parent object so that
 * adding or removing a field is caught too (a rule on the field itself only runs when old and new both have it).
 */

/** Each field may be neither added, removed nor changed. */
export function immutableFieldRules(fields: readonly string[], what: string): CelRule[] {
  return fields.map((f) =>
    celRule(
      `has(oldSelf.${f}) ? (has(self.${f}) && self.${f} == oldSelf.${f}) : !has(self.${f})`,
      `${what} field ${f} is immutable`,
      undefined,
      { fieldPath: `.${f}` },
    ),
  );
}

/** Each field may be set while unset, but neither changed nor removed once set. */
export function setOnceFieldRules(fields: readonly string[], what: string): CelRule[] {
  return fields.map((f) =>
    celRule(
      `!has(oldSelf.${f}) || (has(self.${f}) && self.${f} == oldSelf.${f})`,
      `${what} field ${f} cannot be changed or removed once set`,
      undefined,
      { fieldPath: `.${f}` },
    ),
  );
}
