import type { SimContext } from "./context.js";
import { neutronError } from "./errors.js";
import type { SimRequest, SimResponse } from "./http.js";
import { body } from "./network-input.js";
import { applyPostTags, validateFilters } from "./network-features.js";
import { listBody } from "./query.js";
import type { Rec, World } from "./world.js";

/** Lookups shared by the Neutron route modules: visibility rules and Neutron's 404s. */
export interface NetworkApi {
  w: () => World;
  own: (req: SimRequest) => (x: Rec) => boolean;
  visibleNetwork: (req: SimRequest, n: Rec) => boolean;
  getNetwork: (req: SimRequest, id: string) => Rec;
  visibleSubnet: (req: SimRequest, s: Rec) => boolean;
  getSubnet: (req: SimRequest, id: string) => Rec;
  getOwned: (req: SimRequest, coll: keyof World["data"], id: string, type: string, msg: string) => Rec;
  getPort: (req: SimRequest, id: string) => Rec;
  getRouter: (req: SimRequest, id: string) => Rec;
  getSg: (req: SimRequest, id: string) => Rec;
  getFip: (req: SimRequest, id: string) => Rec;
  getTrunk: (req: SimRequest, id: string) => Rec;
  ok: (b: unknown, status?: number) => SimResponse;
  list: (req: SimRequest, coll: string, items: Rec[]) => SimResponse;
  /** A POST body checked like Neutron does: unknown attributes, required ones, and tags per tag-creation. */
  postBody: (req: SimRequest, resource: string, allowed: readonly string[], required?: readonly string[]) => Record<string, unknown>;
}

export function networkApi(ctx: SimContext): NetworkApi {
  const w = (): World => ctx.world;
  const own = (req: SimRequest) => (x: Rec) => x["project_id"] === req.auth.projectId;

  const visibleNetwork = (req: SimRequest, n: Rec): boolean =>
    n["project_id"] === req.auth.projectId || n["shared"] === true || n["router:external"] === true;
  const getNetwork = (req: SimRequest, id: string): Rec => {
    const n = w().data.networks[id];
    if (!n || !visibleNetwork(req, n)) throw neutronError(404, "NetworkNotFound", `Network ${id} could not be found.`);
    return n;
  };
  const visibleSubnet = (req: SimRequest, s: Rec): boolean => {
    const n = w().data.networks[s["network_id"] as string];
    return s["project_id"] === req.auth.projectId || (!!n && (n["shared"] === true || n["router:external"] === true));
  };
  const getSubnet = (req: SimRequest, id: string): Rec => {
    const s = w().data.subnets[id];
    if (!s || !visibleSubnet(req, s)) throw neutronError(404, "SubnetNotFound", `Subnet ${id} could not be found.`);
    return s;
  };
  const getOwned = (req: SimRequest, coll: keyof World["data"], id: string, type: string, msg: string): Rec => {
    const x = (w().data[coll] as Record<string, Rec>)[id];
    if (!x || x["project_id"] !== req.auth.projectId) throw neutronError(404, type, msg);
    return x;
  };
  const getPort = (req: SimRequest, id: string) => getOwned(req, "ports", id, "PortNotFound", `Port ${id} could not be found.`);
  const getRouter = (req: SimRequest, id: string) => getOwned(req, "routers", id, "RouterNotFound", `Router ${id} could not be found.`);
  const getSg = (req: SimRequest, id: string) =>
    getOwned(req, "securityGroups", id, "SecurityGroupNotFound", `Security group ${id} does not exist`);
  const getFip = (req: SimRequest, id: string) => getOwned(req, "floatingIps", id, "FloatingIPNotFound", `Floating IP ${id} could not be found`);
  const getTrunk = (req: SimRequest, id: string) => getOwned(req, "trunks", id, "TrunkNotFound", `Trunk ${id} could not be found.`);

  const ok = (b: unknown, status = 200): SimResponse => ({ status, body: b });
  const list = (req: SimRequest, coll: string, items: Rec[]): SimResponse => {
    validateFilters(w(), req, coll);
    return ok(listBody(req, coll, items));
  };
  const postBody = (req: SimRequest, resource: string, allowed: readonly string[], required: readonly string[] = []): Record<string, unknown> => {
    const b = body(req, resource, allowed, required);
    applyPostTags(w(), resource, b);
    return b;
  };
  return { w, own, visibleNetwork, getNetwork, visibleSubnet, getSubnet, getOwned, getPort, getRouter, getSg, getFip, getTrunk, ok, list, postBody };
}
