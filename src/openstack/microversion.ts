/** Nova microversion we are written against when the cloud supports it. */
export const DEFAULT_COMPUTE_MICROVERSION = "2.60";

/** Compares "2.60" and "2.9" numerically part by part. */
export function compareMicroversions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split(".").map(Number);
  const [bm = 0, bn = 0] = b.split(".").map(Number);
  return am !== bm ? am - bm : an - bn;
}

/** The highest microversion in Nova's version document, or undefined when it has none. */
export function maxComputeMicroversion(doc: unknown): string | undefined {
  return (doc as { version?: { version?: string } } | undefined)?.version?.version || undefined;
}

/**
 * From Nova's version document (GET /v2.1/: {"version": {"version": max, "min_version": min}}) the microversion
 * to send: the default, or the cloud's maximum when that is older; undefined when it has no microversions.
 */
export function pickComputeMicroversion(doc: unknown, wanted = DEFAULT_COMPUTE_MICROVERSION): string | undefined {
  const v = (doc as { version?: { version?: string } } | undefined)?.version;
  const max = v?.version;
  if (!max) return undefined;
  return compareMicroversions(max, wanted) < 0 ? max : wanted;
}
