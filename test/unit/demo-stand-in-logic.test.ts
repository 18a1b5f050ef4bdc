import { describe, expect, it } from "vitest";
import type { MachineObject, OpenStackMachineObject } from "../../src/demo/capi-types.js";
import {
  desiredClusterStatus,
  desiredMachineState,
  machinesToDelete,
  pickFailureDomain,
  sameJson,
  simulatedCloudInit,
  withCondition,
} from "../../src/demo/stand-in-logic.js";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:05:00Z";

function machine(name: string, created: string, extra: Partial<MachineObject> = {}): MachineObject {
  return { metadata: { name, creationTimestamp: created as unknown as Date, ...extra.metadata }, spec: { clusterName: "c", ...extra.spec }, status: extra.status };
}

describe("machinesToDelete", () => {
  const ms = [machine("b", "2026-01-01T00:02:00Z"), machine("a", "2026-01-01T00:01:00Z"), machine("c", "2026-01-01T00:03:00Z")];

  it("removes the oldest control-plane machines, like KubeadmControlPlane", () => {
    expect(machinesToDelete(ms, 2, "control-plane").map((m) => m.metadata?.name)).toEqual(["a", "b"]);
  });

  it("removes the newest workers", () => {
    expect(machinesToDelete(ms, 1, "worker").map((m) => m.metadata?.name)).toEqual(["c"]);
  });

  it("counts machines already being deleted and never returns them again", () => {
    const deleting = machine("d", "2026-01-01T00:00:00Z", { metadata: { name: "d", deletionTimestamp: T1 as unknown as Date } });
    expect(machinesToDelete([...ms, deleting], 1, "control-plane")).toEqual([]);
    expect(machinesToDelete([...ms, deleting], 2, "control-plane").map((m) => m.metadata?.name)).toEqual(["a"]);
    expect(machinesToDelete(ms, 0, "worker")).toEqual([]);
  });
});

describe("pickFailureDomain", () => {
  const fds = [{ name: "az1", controlPlane: true }, { name: "az2", controlPlane: true }, { name: "az3", controlPlane: false }];

  it("spreads control-plane machines over the eligible failure domains", () => {
    expect(pickFailureDomain(fds, [])).toBe("az1");
    const m1 = machine("m1", T0, { spec: { failureDomain: "az1" } });
    expect(pickFailureDomain(fds, [m1])).toBe("az2");
    const m2 = machine("m2", T0, { spec: { failureDomain: "az2" } });
    expect(pickFailureDomain(fds, [m1, m2])).toBe("az1");
  });

  it("ignores machines being deleted and has no answer without failure domains", () => {
    const gone = machine("m1", T0, { metadata: { name: "m1", deletionTimestamp: T1 as unknown as Date }, spec: { failureDomain: "az1" } });
    expect(pickFailureDomain(fds, [gone])).toBe("az1");
    expect(pickFailureDomain(undefined, [])).toBeUndefined();
    expect(pickFailureDomain([{ name: "x", controlPlane: false }], [])).toBeUndefined();
  });
});

describe("withCondition", () => {
  it("keeps lastTransitionTime while the status stays the same and changes it on a transition", () => {
    const a = withCondition(undefined, { type: "Ready", status: "False", reason: "Waiting" }, T0);
    expect(a).toEqual([{ type: "Ready", status: "False", reason: "Waiting", message: "", lastTransitionTime: T0 }]);
    const b = withCondition(a, { type: "Ready", status: "False", reason: "StillWaiting", message: "m" }, T1);
    expect(b[0]).toMatchObject({ reason: "StillWaiting", message: "m", lastTransitionTime: T0 });
    const c = withCondition(b, { type: "Ready", status: "True" }, T1);
    expect(c[0]).toMatchObject({ status: "True", reason: "Ready", lastTransitionTime: T1 });
  });
});

describe("desiredMachineState", () => {
  const osm: OpenStackMachineObject = {
    metadata: { name: "m" },
    spec: { providerID: "openstack:///abc" },
    status: {
      initialization: { provisioned: true },
      addresses: [{ type: "InternalIP", address: "10.0.0.5" }],
      conditions: [{ type: "Ready", status: "True", reason: "Ready", lastTransitionTime: T0 }],
    },
  };

  it("mirrors providerID, addresses, the provisioned milestone and Ready onto the Machine", () => {
    const m = machine("m", T0, { spec: { bootstrap: { dataSecretName: "m-bootstrap" }, failureDomain: "az1" } });
    const d = desiredMachineState(m, osm, T1);
    expect(d.providerID).toBe("openstack:///abc");
    expect(d.status.phase).toBe("Provisioned");
    expect(d.status.addresses).toEqual([{ type: "InternalIP", address: "10.0.0.5" }]);
    expect(d.status.initialization).toEqual({ bootstrapDataSecretCreated: true, infrastructureProvisioned: true });
    expect(d.status.failureDomain).toBe("az1");
    expect(d.status.conditions?.find((c) => c.type === "InfrastructureReady")).toMatchObject({ status: "True", reason: "Ready" });
    expect(d.status.conditions?.find((c) => c.type === "BootstrapConfigReady")?.status).toBe("True");
  });

  it("reports Pending without bootstrap data, Provisioning before the server is up, Deleting when deleted", () => {
    expect(desiredMachineState(machine("m", T0), undefined, T1).status.phase).toBe("Pending");
    const withData = machine("m", T0, { spec: { bootstrap: { dataSecretName: "s" } } });
    const building: OpenStackMachineObject = { metadata: { name: "m" }, status: { conditions: [{ type: "Ready", status: "False", reason: "InstanceBuilding" }] } };
    const d = desiredMachineState(withData, building, T1);
    expect(d.status.phase).toBe("Provisioning");
    expect(d.providerID).toBeUndefined();
    expect(d.status.conditions?.find((c) => c.type === "InfrastructureReady")).toMatchObject({ status: "False", reason: "InstanceBuilding" });
    const deleting = machine("m", T0, { metadata: { name: "m", deletionTimestamp: T1 as unknown as Date } });
    expect(desiredMachineState(deleting, osm, T1).status.phase).toBe("Deleting");
  });
});

describe("desiredClusterStatus", () => {
  it("reports the infrastructure milestone, the endpoint's failure domains and replica counts", () => {
    const provisioned = machine("cp", T0, { status: { initialization: { infrastructureProvisioned: true } } });
    const s = desiredClusterStatus(
      { metadata: { name: "c" } },
      {
        status: {
          initialization: { provisioned: true },
          failureDomains: [{ name: "az1", controlPlane: true }],
          conditions: [{ type: "Ready", status: "True", reason: "Ready" }],
        },
      },
      { controlPlane: [provisioned], workers: [machine("w", T0)], desiredControlPlane: 3, desiredWorkers: 2 },
      true,
      T1,
    );
    expect(s.phase).toBe("Provisioned");
    expect(s.initialization).toEqual({ infrastructureProvisioned: true, controlPlaneInitialized: true });
    expect(s.failureDomains).toEqual([{ name: "az1", controlPlane: true }]);
    expect(s.controlPlane).toEqual({ desiredReplicas: 3, replicas: 1, readyReplicas: 1 });
    expect(s.workers).toEqual({ desiredReplicas: 2, replicas: 1, readyReplicas: 0 });
    expect(s.conditions?.find((c) => c.type === "InfrastructureReady")?.status).toBe("True");
  });

  it("is Provisioning without a provisioned OpenStackCluster", () => {
    const s = desiredClusterStatus({ metadata: { name: "c" } }, undefined, { controlPlane: [], workers: [], desiredControlPlane: 1, desiredWorkers: 0 }, false, T1);
    expect(s.phase).toBe("Provisioning");
    expect(s.conditions?.[0]).toMatchObject({ type: "InfrastructureReady", status: "Unknown" });
  });
});

describe("simulatedCloudInit and sameJson", () => {
  it("says the bootstrap data is simulated and names the machine", () => {
    const text = simulatedCloudInit("m-1", "c", "worker");
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(text).toMatch(/SIMULATED/);
    expect(text).toContain("machine=m-1");
    expect(text).toContain("role=worker");
  });

  it("compares JSON ignoring key order and undefined members", () => {
    expect(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });
});
