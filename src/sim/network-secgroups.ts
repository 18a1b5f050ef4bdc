import { neutronError } from "./errors.js";
import type { Router } from "./http.js";
import { cidrString, parseCidr, parseIp } from "./ipam.js";
import type { NetworkApi } from "./network-api.js";
import { bump, createRuleRecord, createSecurityGroupRecord, ensureDefaultSecurityGroup } from "./network-core.js";
import { body, bool, str, tagList, uuidField } from "./network-input.js";
import { checkNeutronQuota } from "./quotas.js";
import type { Rec } from "./world.js";

/** Security groups and their rules. */
export function registerSecurityGroups(r: Router, api: NetworkApi): void {
  const { w, own, getOwned, getSg, ok, list, postBody } = api;
  // --- security groups and rules
  const sgView = (sg: Rec): Rec => ({
    ...sg,
    security_group_rules: Object.values(w().data.securityGroupRules)
      .filter((x) => x["security_group_id"] === sg.id)
      .map((x) => ({ ...x, tags: [] })),
  });
  const ruleView = (x: Rec): Rec => {
    const { standard_attr_id: _s, ...rest } = x;
    return rest as Rec;
  };
  r.get("/security-groups", (req) => {
    ensureDefaultSecurityGroup(w(), req.auth.projectId);
    return list(req, "security_groups", Object.values(w().data.securityGroups).filter(own(req)).map(sgView));
  });
  r.post("/security-groups", (req) => {
    const b = postBody(req, "security_group", ["name", "description", "stateful", "tags", "project_id", "tenant_id"]);
    const name = str(b, "name");
    str(b, "description");
    bool(b, "stateful");
    if (name === "default") throw neutronError(409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
    ensureDefaultSecurityGroup(w(), req.auth.projectId);
    checkNeutronQuota(w(), req.auth.projectId, "security_group");
    const sg = createSecurityGroupRecord(w(), req.auth.projectId, { ...b, tags: tagList(b) });
    return ok({ security_group: sgView(sg) }, 201);
  });
  r.get("/security-groups/{id}", (req) => {
    ensureDefaultSecurityGroup(w(), req.auth.projectId);
    return ok({ security_group: sgView(getSg(req, req.params["id"] as string)) });
  });
  r.put("/security-groups/{id}", (req) => {
    const sg = getSg(req, req.params["id"] as string);
    const b = body(req, "security_group", ["name", "description", "stateful"]);
    str(b, "name");
    str(b, "description");
    Object.assign(sg, b);
    bump(sg);
    return ok({ security_group: sgView(sg) });
  });
  r.delete("/security-groups/{id}", (req) => {
    const sg = getSg(req, req.params["id"] as string);
    const users = Object.values(w().data.ports).filter((p) => (p["security_groups"] as string[]).includes(sg.id));
    if (users.length) {
      throw neutronError(409, "SecurityGroupInUse", `Security Group ${sg.id} in use.`);
    }
    if (sg["name"] === "default") {
      throw neutronError(409, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.");
    }
    for (const rule of Object.values(w().data.securityGroupRules)) {
      if (rule["security_group_id"] === sg.id || rule["remote_group_id"] === sg.id) delete w().data.securityGroupRules[rule.id];
    }
    delete w().data.securityGroups[sg.id];
    return { status: 204 };
  });
  const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, gre: 47, esp: 50, ah: 51, vrrp: 112, "ipv6-icmp": 58 };
  r.get("/security-group-rules", (req) => list(req, "security_group_rules", Object.values(w().data.securityGroupRules).filter(own(req)).map(ruleView)));
  r.post("/security-group-rules", (req) => {
    const b = body(req, "security_group_rule", ["security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description", "project_id", "tenant_id"], ["security_group_id", "direction"]);
    const sgId = uuidField(b, "security_group_id") as string;
    getSg(req, sgId);
    if (b["direction"] !== "ingress" && b["direction"] !== "egress") {
      throw neutronError(400, "InvalidInput", `Invalid input for direction. Reason: '${String(b["direction"])}' is not in ['ingress', 'egress'].`);
    }
    const ethertype = b["ethertype"] ?? "IPv4";
    if (ethertype !== "IPv4" && ethertype !== "IPv6") {
      throw neutronError(400, "InvalidInput", `Invalid input for ethertype. Reason: '${String(ethertype)}' is not in ['IPv4', 'IPv6'].`);
    }
    let protocol = b["protocol"] ?? null;
    if (protocol !== null) {
      const p = String(protocol).toLowerCase();
      if (!(p in PROTOCOLS) && !(/^\d+$/.test(p) && Number(p) <= 255) && p !== "any") {
        throw neutronError(400, "SecurityGroupRuleInvalidProtocol", `Security group rule protocol ${String(protocol)} not supported. Only protocol values [None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'icmp', 'icmpv6', 'igmp', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp'] and integer representations [0 to 255] are supported.`);
      }
      protocol = p === "any" ? null : p;
    }
    for (const k of ["port_range_min", "port_range_max"]) {
      const v = b[k];
      if (v !== undefined && v !== null && !(Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 65535)) {
        throw neutronError(400, "InvalidInput", `Invalid input for ${k}. Reason: '${String(v)}' is not a valid port number.`);
      }
      if (v !== undefined && v !== null) b[k] = Number(v);
    }
    const pmin = (b["port_range_min"] as number | null | undefined) ?? null;
    const pmax = (b["port_range_max"] as number | null | undefined) ?? null;
    if ((pmin !== null || pmax !== null) && protocol === null) {
      throw neutronError(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.");
    }
    if (pmin !== null && pmax !== null && pmin > pmax && (protocol === "tcp" || protocol === "udp" || protocol === "6" || protocol === "17")) {
      throw neutronError(400, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max");
    }
    const prefix = b["remote_ip_prefix"];
    if (prefix !== undefined && prefix !== null) {
      const c = parseCidr(prefix) ?? (parseIp(prefix) ? parseCidr(`${String(prefix)}/${String(prefix).includes(":") ? 128 : 32}`) : undefined);
      if (!c) throw neutronError(400, "InvalidInput", `Invalid input for remote_ip_prefix. Reason: '${String(prefix)}' is not a valid IP subnet.`);
      if (`IPv${c.version}` !== ethertype) {
        throw neutronError(400, "SecurityGroupRuleParameterConflict", `Conflicting value ethertype ${String(ethertype)} for CIDR ${String(prefix)}`);
      }
    }
    if (b["remote_group_id"] !== undefined && b["remote_group_id"] !== null) getSg(req, uuidField(b, "remote_group_id") as string);
    const norm = (x: Rec | Record<string, unknown>) => {
      const pr = x["remote_ip_prefix"] ? parseCidr(x["remote_ip_prefix"]) ?? parseCidr(`${String(x["remote_ip_prefix"])}/32`) : undefined;
      const proto = x["protocol"] === null || x["protocol"] === undefined ? null : String(PROTOCOLS[String(x["protocol"])] ?? x["protocol"]);
      return JSON.stringify([x["direction"], x["ethertype"] ?? "IPv4", proto, x["port_range_min"] ?? null, x["port_range_max"] ?? null, pr ? cidrString(pr) : null, x["remote_group_id"] ?? null]);
    };
    const key = norm({ ...b, protocol, ethertype });
    const dup = Object.values(w().data.securityGroupRules).find((x) => x["security_group_id"] === sgId && norm(x) === key);
    if (dup) throw neutronError(409, "SecurityGroupRuleExists", `Security group rule already exists. Rule id is ${dup.id}.`);
    checkNeutronQuota(w(), req.auth.projectId, "security_group_rule");
    const rule = createRuleRecord(w(), req.auth.projectId, { ...b, protocol, ethertype });
    return ok({ security_group_rule: ruleView(rule) }, 201);
  });
  r.get("/security-group-rules/{id}", (req) =>
    ok({ security_group_rule: ruleView(getOwned(req, "securityGroupRules", req.params["id"] as string, "SecurityGroupRuleNotFound", `Security group rule ${req.params["id"]} does not exist`)) }),
  );
  r.delete("/security-group-rules/{id}", (req) => {
    const rule = getOwned(req, "securityGroupRules", req.params["id"] as string, "SecurityGroupRuleNotFound", `Security group rule ${req.params["id"]} does not exist`);
    delete w().data.securityGroupRules[rule.id];
    const sg = w().data.securityGroups[rule["security_group_id"] as string];
    if (sg) bump(sg);
    return { status: 204 };
  });
}
