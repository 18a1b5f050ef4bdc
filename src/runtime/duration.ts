import { UserError } from "../util/errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Go-style durations ("30s", "10m", "1h30m", "500ms"); a bare number means seconds. */
export function parseDuration(value: string, flag: string): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000);
    pos = re.lastIndex;
  }
  if (v === "" || pos !== v.length) {
    throw new UserError(`${flag} must be a duration like 30s, 10m or 1h30m; got "${value}"`);
  }
  return total;
}
