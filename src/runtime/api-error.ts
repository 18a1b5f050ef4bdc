/** A failed Kubernetes API call, carrying the HTTP status and the apiserver's Status reason. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly statusCode: number,
    /** metav1.Status reason, e.g. "NotFound", "Conflict", "Expired", "AlreadyExists". */
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${reason}: ${message}`);
  }
}

function statusOf(e: unknown): number | undefined {
  if (e instanceof KubeApiError) return e.statusCode;
  if (typeof e === "object" && e !== null) {
    const rec = e as { statusCode?: unknown; code?: unknown };
    if (typeof rec.statusCode === "number") return rec.statusCode;
    if (typeof rec.code === "number") return rec.code;
  }
  return undefined;
}

export const isNotFound = (e: unknown): boolean => statusOf(e) === 404;
export const isConflict = (e: unknown): boolean => statusOf(e) === 409;
/** 410 Gone: the resourceVersion we asked for has been compacted away; the caller must relist. */
export const isGone = (e: unknown): boolean => statusOf(e) === 410;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeApiError && e.statusCode === 409 && e.reason === "AlreadyExists";
