export interface CatalogEndpoint {
  id?: string;
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export type ServiceType = "identity" | "compute" | "network" | "image" | "load-balancer" | "block-storage";

/** Catalog types each service is registered under, preferred first (Cinder has had several). */
export const SERVICE_TYPE_ALIASES: Record<ServiceType, string[]> = {
  identity: ["identity"],
  compute: ["compute"],
  network: ["network"],
  image: ["image"],
  "load-balancer": ["load-balancer"],
  "block-storage": ["block-storage", "volumev3", "volume", "volumev2"],
};

/** The endpoint URL for a service, interface and (optional) region; undefined when the catalog lacks it. */
export function findEndpoint(
  catalog: CatalogService[],
  service: ServiceType,
  iface: string,
  region?: string,
): string | undefined {
  for (const type of SERVICE_TYPE_ALIASES[service]) {
    for (const entry of catalog.filter((c) => c.type === type)) {
      const match = entry.endpoints.find(
        (e) => e.interface === iface && (!region || e.region_id === region || e.region === region),
      );
      if (match) return match.url;
    }
  }
  return undefined;
}

/** Regions the catalog knows, for a helpful error. */
export function catalogRegions(catalog: CatalogService[]): string[] {
  const set = new Set<string>();
  for (const c of catalog) for (const e of c.endpoints) if (e.region_id ?? e.region) set.add(String(e.region_id ?? e.region));
  return [...set];
}

/**
 * The versioned base URL of a service from its catalog (or override) URL: catalogs list Neutron, Glance and Octavia
 * unversioned, Nova at /v2.1 and Cinder at /v3/{project_id}.
 */
export function versionedBase(service: ServiceType, url: string, projectId: string | undefined): string {
  const u = url.replace(/\/+$/, "");
  const has = (re: RegExp): boolean => re.test(new URL(u).pathname);
  switch (service) {
    case "compute":
      return has(/\/v2(\.1)?(\/[^/]+)?$/) ? u : `${u}/v2.1`;
    case "network":
      return has(/\/v2\.0$/) ? u : `${u}/v2.0`;
    case "image":
      return has(/\/v2$/) ? u : `${u}/v2`;
    case "load-balancer":
      return has(/\/v2(\.0)?$/) ? u : `${u}/v2`;
    case "block-storage":
      if (has(/\/v3(\/[^/]+)?$/)) return u.replace("%(project_id)s", projectId ?? "").replace("$(project_id)s", projectId ?? "");
      return projectId ? `${u}/v3/${projectId}` : `${u}/v3`;
    case "identity":
      return u;
  }
}
