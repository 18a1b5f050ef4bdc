/**
 * Conversion bookkeeping: a converter takes each field it carries over out of a copy of the source object; whatever
 * is left at the end had no equivalent, and is reported. So no setting can be dropped silently.
 */

export type Json = unknown;
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A view of one source mapping whose fields are taken as they are converted. */
export class Fields {
  private readonly obj: JsonObject;

  constructor(
    private readonly tracker: Tracker,
    source: unknown,
    readonly path: string,
  ) {
    this.obj = isObject(source) ? { ...source } : {};
  }

  /** Removes and returns a field (undefined when absent; null is treated as absent). */
  take(key: string): unknown {
    const v = this.obj[key];
    delete this.obj[key];
    return v === null ? undefined : v;
  }

  /** Takes a nested mapping as its own Fields (empty when absent). */
  sub(key: string): Fields {
    const v = this.take(key);
    return this.tracker.open(v, this.join(key));
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  /** Takes a field known to be dropped on purpose, with a reason reported to the user. */
  drop(key: string, reason: string): void {
    if (this.has(key)) this.tracker.warn(`${this.join(key)}: ${reason}`);
    delete this.obj[key];
  }

  /** Takes a field and ignores it: for fields that carry no setting (e.g. TypeMeta of embedded kubeadm types). */
  ignore(...keys: string[]): void {
    for (const k of keys) delete this.obj[k];
  }

  warn(message: string): void {
    this.tracker.warn(message);
  }

  join(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  leftovers(): string[] {
    return Object.keys(this.obj)
      .filter((k) => this.obj[k] !== undefined && this.obj[k] !== null && !isEmpty(this.obj[k]))
      .map((k) => this.join(k));
  }
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** Collects warnings and the Fields opened while converting one object. */
export class Tracker {
  private readonly opened: Fields[] = [];
  readonly warnings: string[] = [];

  open(source: unknown, path: string): Fields {
    const f = new Fields(this, source, path);
    this.opened.push(f);
    return f;
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** Reports every field no converter took. */
  finish(): string[] {
    for (const f of this.opened) {
      for (const p of f.leftovers()) this.warn(`${p}: no equivalent in the target version; dropped`);
    }
    return this.warnings;
  }
}

/** Sets `value` on `target[key]` unless it is undefined (keeps output free of empty keys). */
export function put(target: JsonObject, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** Removes empty lists and mappings, recursively (CAPI v1beta2 schemas reject most of them: minItems/minProperties). */
export function pruneEmpty(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(pruneEmpty).filter((x) => x !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const p = pruneEmpty(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

/** Seconds in a Go duration string ("300s", "5m", "1h30m", "1.5s" rounds up). */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === "number") return Math.ceil(v);
  if (typeof v !== "string" || v === "") return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * (units[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  if (consumed !== v.length) return undefined;
  return Math.ceil(total);
}
