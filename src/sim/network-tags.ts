import { neutronError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import type { NetworkApi } from "./network-api.js";
import { bump } from "./network-core.js";
import { resourceNotFound } from "./network-features.js";
import { tagList } from "./network-input.js";
import type { Rec, World } from "./world.js";

const TAGGABLE: Record<string, keyof World["data"]> = {
  networks: "networks",
  subnets: "subnets",
  ports: "ports",
  routers: "routers",
  "security-groups": "securityGroups",
  floatingips: "floatingIps",
  trunks: "trunks",
};

/** Tags on any standard-attribute resource: /{resource}/{id}/tags[/{tag}]. */
export function registerTags(r: Router, api: NetworkApi): void {
  const { w, visibleNetwork, ok } = api;
  // --- tags on any standard-attribute resource
  const taggable = (req: SimRequest): Rec => {
    const coll = TAGGABLE[req.params["resource"] as string];
    const id = req.params["id"] as string;
    if (!coll || (coll === "trunks" && !w().hasNeutronExtension("trunk"))) throw resourceNotFound();
    const x = (w().data[coll] as Record<string, Rec>)[id];
    const visible = x && (x["project_id"] === req.auth.projectId || (coll === "networks" && visibleNetwork(req, x)));
    if (!x || !visible) throw neutronError(404, "NotFound", `${req.params["resource"]} ${id} could not be found.`);
    if (x["project_id"] !== req.auth.projectId) {
      throw neutronError(403, "PolicyNotAuthorized", "(rule:update_network:tags) is disallowed by policy");
    }
    return x;
  };
  r.get("/{resource}/{id}/tags", (req) => ok({ tags: taggable(req)["tags"] }));
  r.put("/{resource}/{id}/tags", (req) => {
    const x = taggable(req);
    const b = asRecord(req.body);
    const tags = b ? tagList(b) : undefined;
    if (!tags) throw neutronError(400, "InvalidInput", "Invalid input for operation: Invalid tags body.");
    // Neutron answers the PUT with the list as given but lists a resource's tags sorted (captures 307, 309).
    x["tags"] = [...tags].sort();
    bump(x);
    return ok({ tags });
  });
  r.delete("/{resource}/{id}/tags", (req) => {
    const x = taggable(req);
    x["tags"] = [];
    bump(x);
    return { status: 204 };
  });
  r.get("/{resource}/{id}/tags/{tag}", (req) => {
    const x = taggable(req);
    if (!(x["tags"] as string[]).includes(req.params["tag"] as string)) {
      throw neutronError(404, "TagNotFound", `Tag ${req.params["tag"]} could not be found for ${req.params["resource"]} ${x.id}.`);
    }
    return { status: 204 };
  });
  r.put("/{resource}/{id}/tags/{tag}", (req) => {
    const x = taggable(req);
    const tag = req.params["tag"] as string;
    if (!(x["tags"] as string[]).includes(tag)) {
      x["tags"] = [...(x["tags"] as string[]), tag].sort();
      bump(x);
    }
    return { status: 201 };
  });
  r.delete("/{resource}/{id}/tags/{tag}", (req) => {
    const x = taggable(req);
    const tag = req.params["tag"] as string;
    if (!(x["tags"] as string[]).includes(tag)) {
      throw neutronError(404, "TagNotFound", `Tag ${tag} could not be found for ${req.params["resource"]} ${x.id}.`);
    }
    x["tags"] = (x["tags"] as string[]).filter((t) => t !== tag);
    bump(x);
    return { status: 204 };
  });
}
