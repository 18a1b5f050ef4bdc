/** metav1.Condition as CAPI v1beta2 objects carry it. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Pick<Condition, "type" | "status" | "reason"> & { message?: string };

/** Any stored condition list: the API types read status as a plain string. */
type StoredCondition = Omit<Condition, "status"> & { status: string };

/**
 * Sets one condition in place. lastTransitionTime changes only when status changes, so writing the same
 * condition again produces no diff (and no status write).
 */
export function setCondition(conditions: StoredCondition[], c: ConditionInput, generation?: number, now = new Date()): void {
  const i = conditions.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conditions[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: (c.message ?? "").slice(0, 32_000),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
}

export function getCondition<C extends { type: string }>(conditions: readonly C[] | undefined, type: string): C | undefined {
  return conditions?.find((c) => c.type === type);
}
