import { checkTrunkSupport, type ResolvedPort } from "../../services/ports.js";
import { TerminalError } from "../../services/errors.js";
import type { Clients } from "./scope.js";

/** Nova answers server tags in a create request from this microversion on. */
export const SERVER_TAGS_MICROVERSION = "2.52";

/**
 * Optional OpenStack features the machine spec needs, checked before anything is created so that a cloud without
 * them gets a condition naming what is missing, and no half-built machine: Neutron's trunk extension for trunk
 * ports, Cinder for volumes, Nova 2.52 for server tags.
 */
export async function checkMachineFeatures(
  clients: Clients,
  need: { ports: readonly ResolvedPort[]; volumes: number; serverTags: readonly string[] },
): Promise<void> {
  await checkTrunkSupport(clients.neutron, need.ports);
  if (need.volumes > 0 && !(await clients.cinder.available())) {
    throw new TerminalError(
      "BlockStorageNotAvailable",
      "spec.rootVolume or spec.additionalBlockDevices ask for Cinder volumes, but this cloud's catalog has no block-storage endpoint; " +
        "boot from the image (remove rootVolume) and use ephemeral storage, or use a cloud with Cinder",
    );
  }
  if (need.serverTags.length > 0 && !(await clients.nova.supportsMicroversion(SERVER_TAGS_MICROVERSION))) {
    throw new TerminalError(
      "ComputeMicroversionNotSupported",
      `spec.tags are set on the server as Nova tags, which need compute API microversion ${SERVER_TAGS_MICROVERSION}; ` +
        "this cloud's Nova is older: remove spec.tags (the Neutron resources keep their tags) or use a newer cloud",
    );
  }
}
