import { describe, expect, it } from "vitest";
import { failureDomainsFrom } from "../../src/services/failuredomains.js";
import { deleteIgnoringNotFound, findOrCreate, oldestFirst } from "../../src/services/find-or-create.js";
import { clusterResourceName, clusterTag, loadBalancerName, resourceTags, securityGroupName } from "../../src/services/naming.js";
import { desiredRules, ruleKey } from "../../src/services/securitygroups.js";
import { TerminalError } from "../../src/services/errors.js";
import { NotFoundError, ServiceUnavailableError } from "../../src/openstack/index.js";

const info = { status: 404, service: "network", method: "GET", path: "/networks/{id}" };

describe("naming", () => {
  const c = { namespace: "default", name: "basic-1" };
  it("uses upstream CAPO's names (as in the seed: k8s-cluster-default-basic-1-secgroup-controlplane)", () => {
    expect(clusterResourceName(c)).toBe("k8s-clusterapi-cluster-default-basic-1");
    expect(securityGroupName(c, "controlplane")).toBe("k8s-cluster-default-basic-1-secgroup-controlplane");
    expect(securityGroupName(c, "worker")).toBe("k8s-cluster-default-basic-1-secgroup-worker");
    expect(securityGroupName(c, "bastion")).toBe("k8s-cluster-default-basic-1-secgroup-bastion");
    expect(loadBalancerName(c)).toBe("k8s-clusterapi-cluster-default-basic-1-kubeapi");
  });
  it("keeps the cluster tag within Neutron's 60 characters, stable and distinct per cluster", () => {
    expect(clusterTag(c)).toBe("capo-cluster=default/basic-1");
    const long = { namespace: "a".repeat(63), name: "b".repeat(63) };
    const long2 = { namespace: "a".repeat(63), name: `${"b".repeat(62)}c` };
    expect(clusterTag(long).length).toBeLessThanOrEqual(60);
    expect(clusterTag(long)).toBe(clusterTag(long));
    expect(clusterTag(long)).not.toBe(clusterTag(long2));
    expect(resourceTags(c, ["env=dev", "capo-cluster=default/basic-1"])).toEqual(["env=dev", "capo-cluster=default/basic-1"]);
  });
});

describe("findOrCreate", () => {
  it("prefers the recorded id, then the oldest tagged match, and creates only when neither exists", async () => {
    const calls: string[] = [];
    const r1 = await findOrCreate({
      knownId: "a",
      get: async (id) => (calls.push(`get ${id}`), { id }),
      find: async () => (calls.push("find"), []),
      create: async () => (calls.push("create"), { id: "new" }),
    });
    expect(r1).toEqual({ resource: { id: "a" }, created: false });
    expect(calls).toEqual(["get a"]);

    const r2 = await findOrCreate({
      knownId: "gone",
      get: async () => {
        throw new NotFoundError("gone", info);
      },
      find: async () => [
        { id: "z", created_at: "2026-01-02T00:00:00Z" },
        { id: "y", created_at: "2026-01-01T00:00:00Z" },
      ],
      create: async () => ({ id: "new" }),
    });
    expect(r2).toEqual({ resource: { id: "y", created_at: "2026-01-01T00:00:00Z" }, created: false });

    const r3 = await findOrCreate({ get: async (id) => ({ id }), find: async () => [], create: async () => ({ id: "new" }) });
    expect(r3).toEqual({ resource: { id: "new" }, created: true });
  });

  it("does not create when the lookup by id fails for another reason than 404", async () => {
    let created = false;
    await expect(
      findOrCreate({
        knownId: "a",
        get: async () => {
          throw new ServiceUnavailableError("down", { ...info, status: 503 });
        },
        find: async () => [],
        create: async () => ((created = true), { id: "new" }),
      }),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(created).toBe(false);
  });

  it("treats 404 on delete as done", async () => {
    expect(await deleteIgnoringNotFound(async () => undefined)).toBe(true);
    expect(
      await deleteIgnoringNotFound(async () => {
        throw new NotFoundError("x", info);
      }),
    ).toBe(false);
    expect(oldestFirst([{ id: "b" }, { id: "a" }]).map((x) => x.id)).toEqual(["a", "b"]);
  });
});

describe("security group rules", () => {
  const ids = { controlplane: "cp-id", worker: "w-id" };
  const opts = { apiServerPort: 6443, withBastion: false };
  const summary = (rules: ReturnType<typeof desiredRules>) =>
    rules
      .filter((r) => r.direction === "ingress")
      .map((r) => `${r.ethertype} ${r.protocol ?? "any"} ${r.port_range_min ?? ""}-${r.port_range_max ?? ""} ${r.remote_group_id ?? r.remote_ip_prefix ?? "any"}`)
      .sort();

  it("control plane: API port, etcd from the control plane, kubelet from all nodes; egress open", () => {
    const rules = desiredRules("controlplane", {}, ids, { ...opts, apiServerPort: 7443 });
    expect(summary(rules)).toEqual([
      "IPv4 tcp 10250-10250 cp-id",
      "IPv4 tcp 10250-10250 w-id",
      "IPv4 tcp 2379-2380 cp-id",
      "IPv4 tcp 7443-7443 0.0.0.0/0",
    ]);
    expect(rules.filter((r) => r.direction === "egress").map((r) => r.ethertype)).toEqual(["IPv4", "IPv6"]);
  });

  it("workers: NodePorts and kubelet; spec rules and allowAllInClusterTraffic added, remote managed groups resolved", () => {
    const rules = desiredRules(
      "worker",
      {
        allowAllInClusterTraffic: true,
        clusterNodesSecurityGroupRules: [
          { name: "bgp", direction: "ingress", protocol: "tcp", portRangeMin: 179, portRangeMax: 179, remoteManagedGroups: ["controlplane", "worker"] },
        ],
        workerNodesSecurityGroupRules: [{ name: "ssh", direction: "ingress", protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIPPrefix: "10.0.0.0/8" }],
        controlPlaneNodesSecurityGroupRules: [{ name: "cp-only", direction: "ingress", protocol: "udp", portRangeMin: 1, portRangeMax: 1 }],
      },
      ids,
      opts,
    );
    expect(summary(rules)).toEqual([
      "IPv4 any - cp-id",
      "IPv4 any - w-id",
      "IPv4 tcp 10250-10250 cp-id",
      "IPv4 tcp 10250-10250 w-id",
      "IPv4 tcp 179-179 cp-id",
      "IPv4 tcp 179-179 w-id",
      "IPv4 tcp 22-22 10.0.0.0/8",
      "IPv4 tcp 30000-32767 0.0.0.0/0",
      "IPv4 udp 30000-32767 0.0.0.0/0",
      "IPv6 any - cp-id",
      "IPv6 any - w-id",
    ]);
  });

  it("a rule naming a managed group the cluster lacks is a terminal error naming it", () => {
    expect(() =>
      desiredRules("worker", { workerNodesSecurityGroupRules: [{ name: "x", direction: "ingress", remoteManagedGroups: ["bastion"] }] }, ids, opts),
    ).toThrow(TerminalError);
    expect(() =>
      desiredRules("worker", { workerNodesSecurityGroupRules: [{ name: "x", direction: "ingress", remoteManagedGroups: ["bastion"] }] }, ids, opts),
    ).toThrow(/bastion/);
  });

  it("matches Neutron's stored form: null/any protocol, 0.0.0.0/0 vs null prefix, case", () => {
    const a = { direction: "ingress" as const, ethertype: "IPv4" as const, protocol: "TCP", port_range_min: 22, port_range_max: 22, remote_ip_prefix: "0.0.0.0/0", remote_group_id: null };
    const b = { ...a, protocol: "tcp", remote_ip_prefix: null };
    expect(ruleKey(a)).toBe(ruleKey(b));
    expect(ruleKey({ ...a, protocol: null })).toBe(ruleKey({ ...a, protocol: "any" }));
    expect(ruleKey(a)).not.toBe(ruleKey({ ...a, port_range_max: 23 }));
  });
});

describe("failure domains", () => {
  const zones = [
    { zoneName: "nova", zoneState: { available: true } },
    { zoneName: "az2", zoneState: { available: true } },
    { zoneName: "broken", zoneState: { available: false } },
  ];
  it("lists available zones sorted; control plane zones restricted by controlPlaneAvailabilityZones", () => {
    expect(failureDomainsFrom(zones, { controlPlaneAvailabilityZones: [], controlPlaneOmitAvailabilityZone: false })).toEqual([
      { name: "az2", controlPlane: true },
      { name: "nova", controlPlane: true },
    ]);
    expect(failureDomainsFrom(zones, { controlPlaneAvailabilityZones: ["nova"], controlPlaneOmitAvailabilityZone: false })).toEqual([
      { name: "az2", controlPlane: false },
      { name: "nova", controlPlane: true },
    ]);
    expect(failureDomainsFrom(zones, { controlPlaneAvailabilityZones: [], controlPlaneOmitAvailabilityZone: true }).every((f) => !f.controlPlane)).toBe(true);
  });
});
