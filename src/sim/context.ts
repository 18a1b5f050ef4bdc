import type { Faults } from "./faults.js";
import type { World } from "./world.js";

/** What every service module needs: the world, the faults and where the simulator listens. */
export interface SimContext {
  world: World;
  faults: Faults;
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + "/identity/v3" */
  authUrl: string;
}
