import type { ControllerDefinition } from "../runtime/index.js";
import { createCredentialsFinalizerController } from "./credentials-finalizer.js";
import { openStackClusterController } from "./openstackcluster/index.js";
import { createOpenStackMachineController } from "./openstackmachine/index.js";

/** Every controller `capo controller` runs; each reconciler adds one line here. */
export const controllers: ControllerDefinition[] = [
  openStackClusterController(),
  createOpenStackMachineController(),
  createCredentialsFinalizerController(),
];
