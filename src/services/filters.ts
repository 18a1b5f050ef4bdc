import type { NeutronFilter } from "../openstack/index.js";

/** The filter fields shared by CAPO's NetworkFilter, SubnetFilter, RouterFilter and SecurityGroupFilter. */
export interface NeutronResourceFilter {
  name?: string;
  description?: string;
  projectID?: string;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
}

export interface SubnetFilterFields extends NeutronResourceFilter {
  ipVersion?: number;
  gatewayIP?: string;
  cidr?: string;
  ipv6AddressMode?: string;
  ipv6RAMode?: string;
}

/** CAPO filter (camelCase API fields) to Neutron list query fields. */
export function toNeutronFilter(f: NeutronResourceFilter): NeutronFilter {
  const q: NeutronFilter = {};
  if (f.name !== undefined) q.name = f.name;
  if (f.description !== undefined) q["description"] = f.description;
  if (f.projectID !== undefined) q["project_id"] = f.projectID;
  if (f.tags?.length) q.tags = f.tags;
  if (f.tagsAny?.length) q.tagsAny = f.tagsAny;
  if (f.notTags?.length) q.notTags = f.notTags;
  if (f.notTagsAny?.length) q.notTagsAny = f.notTagsAny;
  return q;
}

export function toSubnetNeutronFilter(f: SubnetFilterFields): NeutronFilter {
  const q = toNeutronFilter(f);
  if (f.ipVersion !== undefined) q["ip_version"] = f.ipVersion;
  if (f.gatewayIP !== undefined) q["gateway_ip"] = f.gatewayIP;
  if (f.cidr !== undefined) q["cidr"] = f.cidr;
  if (f.ipv6AddressMode !== undefined) q["ipv6_address_mode"] = f.ipv6AddressMode;
  if (f.ipv6RAMode !== undefined) q["ipv6_ra_mode"] = f.ipv6RAMode;
  return q;
}

/** A compact, stable rendering of a filter for messages: {"name":"public"}. */
export function describeFilter(f: object): string {
  return JSON.stringify(f);
}
