import type { ComputeApi } from "./compute-api.js";
import { ge, invalid } from "./compute-api.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import { checkNovaSimple, novaUsage } from "./quotas.js";
import type { World } from "./world.js";
import { uuid } from "./world.js";

/** Server groups with their policies. */
export function registerServerGroups(r: Router, api: ComputeApi): void {
  const { w, ok } = api;
  // --- server groups
  const POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"];
  const sgView = (req: SimRequest, g: World["data"]["serverGroups"][string]) =>
    ge(req, 64)
      ? { id: g.id, members: g.members, name: g.name, policy: g.policy, project_id: g.projectId, rules: g.rules, user_id: g.userId }
      : { id: g.id, members: g.members, metadata: {}, name: g.name, policies: [g.policy], ...(ge(req, 13) ? { project_id: g.projectId, user_id: g.userId } : {}) };
  const getGroup = (req: SimRequest, id: string) => {
    const g = w().data.serverGroups[id];
    if (!g || g.projectId !== req.auth.projectId) throw novaError(404, `Instance group ${id} could not be found.`);
    return g;
  };
  r.get("/os-server-groups", (req) =>
    ok({ server_groups: Object.values(w().data.serverGroups).filter((g) => g.projectId === req.auth.projectId).map((g) => sgView(req, g)) }),
  );
  r.post("/os-server-groups", (req) => {
    const b = asRecord(asRecord(req.body)?.["server_group"]);
    if (!b) throw invalid("server_group", req.body, "'server_group' is a required property");
    if (typeof b["name"] !== "string" || !b["name"]) throw invalid("name", b["name"], "'name' is a required property");
    let policy: unknown;
    if (ge(req, 64)) {
      policy = b["policy"];
      if (b["policies"] !== undefined) throw invalid("server_group", b, "Additional properties are not allowed ('policies' was unexpected)");
    } else {
      const ps = b["policies"];
      policy = Array.isArray(ps) && ps.length === 1 ? ps[0] : undefined;
      if (!Array.isArray(ps)) throw invalid("server_group", b, "'policies' is a required property");
    }
    if (typeof policy !== "string" || !POLICIES.includes(policy)) {
      throw invalid("policy", policy, `${JSON.stringify(policy)} is not one of ${JSON.stringify(POLICIES).replace(/"/g, "'")}`);
    }
    checkNovaSimple(w(), req.auth.projectId, "server_groups", novaUsage(w(), req.auth.projectId)["server_groups"] ?? 0, "server groups");
    const g = {
      id: uuid(),
      name: b["name"],
      policy,
      rules: (asRecord(b["rules"]) ?? {}) as Record<string, unknown>,
      members: [] as string[],
      projectId: req.auth.projectId,
      userId: req.auth.userId,
    };
    w().data.serverGroups[g.id] = g;
    return ok({ server_group: sgView(req, g) });
  });
  r.get("/os-server-groups/{id}", (req) => ok({ server_group: sgView(req, getGroup(req, req.params["id"] as string)) }));
  r.delete("/os-server-groups/{id}", (req) => {
    const g = getGroup(req, req.params["id"] as string);
    delete w().data.serverGroups[g.id];
    for (const s of Object.values(w().data.servers)) s.serverGroupIds = s.serverGroupIds.filter((x) => x !== g.id);
    return { status: 204 };
  });
}
