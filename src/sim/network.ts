import type { SimContext } from "./context.js";
import { Router } from "./http.js";
import { networkApi } from "./network-api.js";
import { registerFloatingIps } from "./network-fips.js";
import { registerNetworksAndSubnets } from "./network-nets.js";
import { registerPorts } from "./network-ports.js";
import { registerRouters } from "./network-routers.js";
import { registerSecurityGroups } from "./network-secgroups.js";
import { registerTags } from "./network-tags.js";
import { registerTrunks } from "./network-trunks.js";

export { deleteFloatingIp } from "./network-fips.js";

/** Neutron v2.0 under /networking/v2.0, one module per resource family. */
export function networkRoutes(ctx: SimContext): Router {
  const r = new Router();
  const api = networkApi(ctx);
  registerNetworksAndSubnets(r, api);
  registerPorts(r, api);
  registerRouters(r, api);
  registerSecurityGroups(r, api);
  registerFloatingIps(r, api);
  registerTrunks(r, api);
  // Last: its "/{resource}/{id}/tags" templates must not shadow the fixed paths above.
  registerTags(r, api);
  return r;
}
