import type { KubernetesObject } from "@kubernetes/client-node";
import { hasFinalizer, keyOf, type ObjectKey } from "../../runtime/index.js";
import { MACHINE_FINALIZER, type OpenStackMachineObject } from "./types.js";

/**
 * OpenStackMachines the apiserver deleted while they still held our finalizer. A DELETE that races the request
 * adding the finalizer removes the object anyway (kubernetes/kubernetes#77988), while our pass, told the finalizer
 * is on, goes on to create ports. The state each was deleted in is kept (in memory) until a cleanup by recorded id
 * and by name + cluster tag has run; after a restart in between, the cluster's deletion sweeps its unbound ports.
 * A clusterctl move removes our finalizer before it deletes, so a moved machine never lands here.
 */
export class VanishedMachines {
  private readonly byKey = new Map<ObjectKey, OpenStackMachineObject>();

  /**
   * Keeps the object's last state if it was deleted without ever being marked for deletion while holding our
   * finalizer. The apiserver marks an object with finalizers (deletionTimestamp) and deletes it only once they are
   * gone, yet the watch's DELETED event then repeats the state from before our finalizer went: a finalizer there is
   * proof of nothing. Only a deletion that skipped the mark, which a finalizer rules out, is the race.
   */
  record(last: KubernetesObject): void {
    if (hasFinalizer(last, MACHINE_FINALIZER) && !last.metadata?.deletionTimestamp) this.byKey.set(keyOf(last), last as OpenStackMachineObject);
  }

  get(key: ObjectKey): OpenStackMachineObject | undefined {
    return this.byKey.get(key);
  }

  /** What the cleanup has learnt so far (the server it asked to delete), for its next pass. */
  update(key: ObjectKey, osm: OpenStackMachineObject): void {
    if (this.byKey.has(key)) this.byKey.set(key, osm);
  }

  forget(key: ObjectKey): void {
    this.byKey.delete(key);
  }
}
