import type { SimContext } from "./context.js";
import { Router } from "./http.js";
import { computeApi } from "./compute-api.js";
import { registerCatalog } from "./compute-catalog.js";
import { registerKeypairs } from "./compute-keypairs.js";
import { registerServerExtras } from "./compute-server-extras.js";
import { registerServerGroups } from "./compute-servergroups.js";
import { registerServers } from "./compute-servers.js";

export { destroyServer, registerComputeTransitions, releasePort, setServerError } from "./compute-lifecycle.js";

/** Nova v2.1 under /compute/v2.1, one module per resource family. */

export { NOVA_MAX, NOVA_MIN } from "./nova-versions.js";

export function computeRoutes(ctx: SimContext): Router {
  const r = new Router();
  const api = computeApi(ctx);
  registerCatalog(r, api);
  registerKeypairs(r, api);
  registerServerGroups(r, api);
  registerServers(r, api);
  registerServerExtras(r, api);
  return r;
}
