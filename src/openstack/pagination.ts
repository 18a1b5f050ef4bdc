import type { ServiceType } from "./catalog.js";
import type { RequestPath } from "./path-template.js";
import type { OpenStackSession, Query } from "./session.js";

/** The next-page link of a list response: `<key>_links` rel=next (Nova, Neutron, Octavia) or `next` (Glance). */
export function nextPageHref(body: unknown, key: string): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const links = b[`${key}_links`];
  if (Array.isArray(links)) {
    const next = (links as { rel?: string; href?: string }[]).find((l) => l.rel === "next");
    if (next?.href) return next.href;
  }
  return typeof b["next"] === "string" && b["next"] ? b["next"] : undefined;
}

/** The query of a next link; the path is ours (the link's host may be an internal name behind a proxy). */
export function queryOfHref(href: string): Query {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URL(href, "http://next.invalid").searchParams) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const MAX_PAGES = 10_000;

/** Every item of a paginated list, following next links until the last page. */
export async function listAll<T>(
  session: Pick<OpenStackSession, "request">,
  service: ServiceType,
  path: RequestPath,
  key: string,
  query?: Query,
  opts: { microversion?: string } = {},
): Promise<T[]> {
  const items: T[] = [];
  let q = query;
  const seen = new Set<string>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await session.request<Record<string, unknown>>(service, "GET", path, { query: q, ...opts });
    const batch = (res.body?.[key] as T[] | undefined) ?? [];
    items.push(...batch);
    const href = nextPageHref(res.body, key);
    if (!href || batch.length === 0 || seen.has(href)) break;
    seen.add(href);
    q = queryOfHref(href);
  }
  return items;
}
