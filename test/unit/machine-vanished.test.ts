import { describe, expect, it } from "vitest";
import { VanishedMachines } from "../../src/controllers/openstackmachine/vanished.js";
import { MACHINE_FINALIZER, type OpenStackMachineObject } from "../../src/controllers/openstackmachine/types.js";

const osm = (name: string, finalizers: string[], deletionTimestamp?: string): OpenStackMachineObject =>
  ({ metadata: { name, namespace: "ns", finalizers, ...(deletionTimestamp ? { deletionTimestamp } : {}) }, spec: {} }) as OpenStackMachineObject;

describe("VanishedMachines: which watch-reported deletions were the finalizer race", () => {
  it("keeps a machine deleted while holding our finalizer without ever being marked for deletion", () => {
    const v = new VanishedMachines();
    v.record(osm("raced", [MACHINE_FINALIZER]));
    expect(v.get("ns/raced")?.metadata?.name).toBe("raced");
    // What the cleanup learnt (the server it asked to delete) is there for its next pass.
    v.update("ns/raced", { ...osm("raced", [MACHINE_FINALIZER]), status: { instanceID: "server-1" } });
    expect(v.get("ns/raced")?.status?.instanceID).toBe("server-1");
    v.forget("ns/raced");
    expect(v.get("ns/raced")).toBeUndefined();
  });

  it("ignores our own finished deletions (the DELETED event repeats the marked state with our finalizer) and objects we never held", () => {
    const v = new VanishedMachines();
    v.record(osm("cleaned-up", [MACHINE_FINALIZER], "2026-12-02T00:00:00Z"));
    v.record(osm("never-ours", []));
    v.record(osm("someone-elses", ["example.com/other"]));
    expect([v.get("ns/cleaned-up"), v.get("ns/never-ours"), v.get("ns/someone-elses")]).toEqual([undefined, undefined, undefined]);
    // Nothing recorded, nothing to update.
    v.update("ns/cleaned-up", osm("cleaned-up", [MACHINE_FINALIZER]));
    expect(v.get("ns/cleaned-up")).toBeUndefined();
  });
});
