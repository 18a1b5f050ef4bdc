import { neutronError } from "./errors.js";
import type { SimRequest } from "./http.js";
import { ApiError } from "./http.js";
import type { World } from "./world.js";

/** How Neutron answers when an optional extension is absent, and its filter-validation, as the Zed captures show. */

/** GET /extensions/<alias> for an alias the cloud lacks (capture 302): webob's 404 page as JSON. */
export function extensionNotFound(alias: string): ApiError {
  return new ApiError(404, {
    code: "404 Not Found",
    message: `The resource could not be found.<br /><br />\nExtension with alias ${alias} does not exist\n\n`,
    title: "Not Found",
  });
}

/** Any path of an extension's resource when the extension is absent (capture 312). */
export function resourceNotFound(): ApiError {
  return neutronError(404, "HTTPNotFound", "The resource could not be found.");
}

/**
 * `tags` in a POST body. With tag-creation they are taken. Without it Zed refuses them (captures 304, 311), except on
 * ports, where the bulk-tagging attribute accepts them and the tags are silently dropped (capture 310).
 */
export function applyPostTags(world: World, kind: string, b: Record<string, unknown>): void {
  if (b["tags"] === undefined || world.hasNeutronExtension("tag-creation")) return;
  if (kind === "port") {
    delete b["tags"];
    return;
  }
  throw neutronError(400, "HTTPBadRequest", "Attribute 'tags' not allowed in POST");
}

const STANDARD = ["id", "tenant_id", "project_id", "description", "revision_number"];
const TAG_FILTERS = ["tags", "tags-any", "not-tags", "not-tags-any"];
const PAGING = new Set(["fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"]);

/** Query keys Neutron Zed accepts as filters (attributes with is_filter, from its API definitions). */
const FILTERS: Record<string, readonly string[]> = {
  networks: [...STANDARD, ...TAG_FILTERS, "name", "admin_state_up", "shared", "status", "router:external", "mtu", "is_default", "provider:network_type", "provider:physical_network", "provider:segmentation_id"],
  subnets: [...STANDARD, ...TAG_FILTERS, "name", "network_id", "cidr", "ip_version", "gateway_ip", "enable_dhcp", "ipv6_address_mode", "ipv6_ra_mode", "shared", "subnetpool_id", "segment_id"],
  ports: [...STANDARD, ...TAG_FILTERS, "name", "network_id", "admin_state_up", "device_id", "device_owner", "fixed_ips", "mac_address", "status", "binding:host_id", "security_groups"],
  routers: [...STANDARD, ...TAG_FILTERS, "name", "admin_state_up"],
  floatingips: [...STANDARD, ...TAG_FILTERS, "floating_ip_address", "floating_network_id", "fixed_ip_address", "port_id", "router_id", "status"],
  security_groups: [...STANDARD, ...TAG_FILTERS, "name", "shared"],
  security_group_rules: [...STANDARD, "security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "normalized_cidr"],
  trunks: [...STANDARD, ...TAG_FILTERS, "name", "admin_state_up", "port_id"],
};

/**
 * With filter-validation, a list query naming an attribute that is not a filter is refused with the keys in Python's
 * list notation, in query order (neutron/api/api_common.py get_filters_from_dict).
 */
export function validateFilters(world: World, req: SimRequest, collection: string): void {
  const allowed = FILTERS[collection];
  if (!allowed || !world.hasNeutronExtension("filter-validation")) return;
  const bad = [...new Set(req.query.keys())].filter((k) => !PAGING.has(k) && !allowed.includes(k));
  if (bad.length === 0) return;
  throw neutronError(400, "HTTPBadRequest", `[${bad.map((k) => `'${k}'`).join(", ")}] is invalid attribute for filtering`);
}
