import type { SimRequest } from "./http.js";
import type { Rec } from "./world.js";

/** Neutron/Octavia style list queries: attribute filters, tag filters, fields, sorting, limit/marker. */

const SPECIAL = new Set([
  "fields",
  "sort_key",
  "sort_dir",
  "limit",
  "marker",
  "page_reverse",
  "tags",
  "tags-any",
  "not-tags",
  "not-tags-any",
]);

function csvAll(q: URLSearchParams, key: string): string[] {
  return q
    .getAll(key)
    .flatMap((v) => v.split(","))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function valueMatches(actual: unknown, wanted: string): boolean {
  if (actual === null || actual === undefined) return wanted === "" || wanted.toLowerCase() === "none";
  if (typeof actual === "boolean") return String(actual) === wanted.toLowerCase();
  if (Array.isArray(actual)) return actual.some((a) => valueMatches(a, wanted));
  if (typeof actual === "object") return false;
  return String(actual) === wanted;
}

/** `fixed_ips=ip_address=10.0.0.2` / `fixed_ips=subnet_id=...` as Neutron accepts them. */
function fixedIpMatches(item: Rec, filter: string): boolean {
  const [k, v] = filter.includes("=") ? (filter.split("=", 2) as [string, string]) : ["ip_address", filter];
  const ips = (item["fixed_ips"] as { ip_address: string; subnet_id: string }[] | undefined) ?? [];
  return ips.some((ip) => (k === "ip_address_substr" ? ip.ip_address.includes(v) : String((ip as Record<string, unknown>)[k]) === v));
}

export function filterItems(items: Rec[], q: URLSearchParams, opts: { ignore?: Set<string> } = {}): Rec[] {
  const keys = [...new Set([...q.keys()])].filter((k) => !SPECIAL.has(k) && !opts.ignore?.has(k));
  const tagsAll = csvAll(q, "tags");
  const tagsAny = csvAll(q, "tags-any");
  const notTags = csvAll(q, "not-tags");
  const notTagsAny = csvAll(q, "not-tags-any");
  return items.filter((item) => {
    for (const k of keys) {
      const wanted = q.getAll(k);
      if (k === "fixed_ips") {
        if (!wanted.every((w) => fixedIpMatches(item, w))) return false;
        continue;
      }
      if (!(k in item)) continue;
      if (!wanted.some((w) => valueMatches(item[k], w))) return false;
    }
    const tags = (item["tags"] as string[] | undefined) ?? [];
    if (tagsAll.length && !tagsAll.every((t) => tags.includes(t))) return false;
    if (tagsAny.length && !tagsAny.some((t) => tags.includes(t))) return false;
    if (notTags.length && notTags.every((t) => tags.includes(t))) return false;
    if (notTagsAny.length && notTagsAny.some((t) => tags.includes(t))) return false;
    return true;
  });
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : 1;
}

export function sortItems(items: Rec[], keys: string[], dirs: string[], forceId: boolean): Rec[] {
  const k = [...keys];
  const d = [...dirs];
  if (forceId && !k.includes("id")) {
    k.push("id");
    d.push(d[0] ?? "asc");
  }
  if (k.length === 0) return items;
  return [...items].sort((x, y) => {
    for (let i = 0; i < k.length; i++) {
      const key = k[i] as string;
      const c = compare(x[key], y[key]);
      if (c !== 0) return (d[i] ?? "asc") === "desc" ? -c : c;
    }
    return 0;
  });
}

export function projectFields(item: Rec, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return item;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in item) out[f] = item[f];
  return out;
}

export interface ListOptions {
  /** Always emit `<collection>_links` (Octavia does; Neutron only when paginating). */
  alwaysLinks?: boolean;
  ignore?: Set<string>;
  /** Thrown when the marker is not found. */
  badMarker?: (marker: string) => Error;
}

/** Renders a filtered, sorted, paginated collection with its links. */
export function listBody(req: SimRequest, collection: string, all: Rec[], opts: ListOptions = {}): Record<string, unknown> {
  const q = req.query;
  let items = filterItems(all, q, opts);
  const limitRaw = q.get("limit");
  const marker = q.get("marker");
  const paginate = limitRaw !== null || marker !== null;
  items = sortItems(items, q.getAll("sort_key"), q.getAll("sort_dir"), paginate);
  const reverse = (q.get("page_reverse") ?? "").toLowerCase() === "true";
  if (reverse) items = [...items].reverse();
  if (marker) {
    const idx = items.findIndex((i) => i.id === marker);
    if (idx < 0 && opts.badMarker) throw opts.badMarker(marker);
    items = idx < 0 ? items : items.slice(idx + 1);
  }
  const limit = limitRaw !== null && /^\d+$/.test(limitRaw) && Number(limitRaw) > 0 ? Number(limitRaw) : undefined;
  const more = limit !== undefined && items.length > limit;
  let page = limit !== undefined ? items.slice(0, limit) : items;
  if (reverse) page = [...page].reverse();
  const fields = q.getAll("fields").flatMap((f) => f.split(","));
  const body: Record<string, unknown> = { [collection]: page.map((i) => projectFields(i, fields)) };
  if (paginate || opts.alwaysLinks) {
    const links: { href: string; rel: string }[] = [];
    const base = linkBase(req);
    const first = page[0];
    const last = page[page.length - 1];
    if (more && last) links.push({ href: withMarker(base, last.id, false), rel: "next" });
    if (paginate && first) links.push({ href: withMarker(base, first.id, true), rel: "previous" });
    body[`${collection}_links`] = links;
  }
  return body;
}

function linkBase(req: SimRequest): URL {
  const u = new URL(req.serviceUrl + req.path);
  for (const [k, v] of req.query) if (k !== "marker" && k !== "page_reverse") u.searchParams.append(k, v);
  return u;
}

function withMarker(base: URL, marker: string, reverse: boolean): string {
  const u = new URL(base);
  u.searchParams.set("marker", marker);
  if (reverse) u.searchParams.set("page_reverse", "True");
  return u.toString();
}
