import { describe, expect, it } from "vitest";
import { validateObject } from "../../src/api/index.js";

const API = "infrastructure.cluster.x-k8s.io/v1beta2";

function cluster(spec: Record<string, unknown>) {
  return {
    apiVersion: API,
    kind: "OpenStackCluster",
    metadata: { name: "c" },
    spec: { identityRef: { name: "cloud-config", cloudName: "openstack" }, ...spec },
  };
}

function machine(spec: Record<string, unknown>) {
  return {
    apiVersion: API,
    kind: "OpenStackMachine",
    metadata: { name: "m" },
    spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "ubuntu" } }, ...spec },
  };
}

const paths = (issues: { path: string }[]) => issues.map((i) => i.path);

describe("validateObject", () => {
  it("accepts a complete, valid OpenStackCluster", () => {
    const issues = validateObject(
      "OpenStackCluster",
      cluster({
        managedSubnets: [{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8", "2001:4860:4860::8888"] }],
        externalNetwork: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" },
        apiServer: { managedLoadBalancer: { enabled: true, allowedCIDRs: ["10.0.0.0/8"] }, port: 6443 },
        managedSecurityGroups: {
          allowAllInClusterTraffic: false,
          clusterNodesSecurityGroupRules: [
            { name: "bgp", direction: "ingress", protocol: "tcp", portRangeMin: 179, portRangeMax: 179, remoteManagedGroups: ["controlplane", "worker"] },
          ],
        },
        bastion: { enabled: false },
        controlPlaneAvailabilityZones: ["nova"],
        tags: ["a", "b"],
      }),
    );
    expect(issues).toEqual([]);
  });

  it("names an unknown (unsupported) field by its path", () => {
    const issues = validateObject("OpenStackCluster", cluster({ nodeCidr: "10.6.0.0/24", apiServer: { bogus: 1 } }));
    expect(issues).toContainEqual({ path: "spec.nodeCidr", message: expect.stringMatching(/unknown field/) });
    expect(issues).toContainEqual({ path: "spec.apiServer.bogus", message: expect.stringMatching(/unknown field/) });
  });

  it("requires exactly one of id or filter", () => {
    const both = validateObject(
      "OpenStackCluster",
      cluster({ network: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650", filter: { name: "n" } } }),
    );
    expect(both).toContainEqual({ path: "spec.network", message: "exactly one of id or filter must be set" });
    const none = validateObject("OpenStackMachine", machine({ image: {} }));
    expect(none).toContainEqual({ path: "spec.image", message: "exactly one of id or filter must be set" });
  });

  it("checks formats: uuid ids, CIDRs and IP addresses", () => {
    const issues = validateObject(
      "OpenStackCluster",
      cluster({
        externalNetwork: { id: "not-a-uuid" },
        managedSubnets: [{ cidr: "10.6.0.0/33", dnsNameservers: ["8.8.8"] }],
        apiServer: { floatingIP: "1.2.3.4.5" },
      }),
    );
    expect(paths(issues)).toEqual(
      expect.arrayContaining([
        "spec.externalNetwork.id",
        "spec.managedSubnets[0].cidr",
        "spec.managedSubnets[0].dnsNameservers[0]",
        "spec.apiServer.floatingIP",
      ]),
    );
  });

  it("reports missing required fields and wrong types", () => {
    const issues = validateObject("OpenStackMachine", {
      apiVersion: API,
      kind: "OpenStackMachine",
      spec: { image: { id: "a7f5a5f5-1c38-4f2b-9d1e-3f4b8c2e5d10" }, configDrive: "yes", ports: [{ fixedIPs: [{ ipAddress: "x" }] }] },
    });
    expect(issues).toContainEqual({ path: "spec.flavor", message: "required field is missing" });
    expect(paths(issues)).toContain("spec.configDrive");
    expect(paths(issues)).toContain("spec.ports[0].fixedIPs[0].ipAddress");
  });

  it("enforces the cluster rules upstream expresses in CEL", () => {
    const issues = validateObject(
      "OpenStackCluster",
      cluster({ enableExternalNetwork: false, bastion: { floatingIP: "1.2.3.4" }, managedNetwork: {} }),
    );
    expect(issues).toContainEqual({ path: "spec", message: "bastion floating IP cannot be set when enableExternalNetwork is false" });
    expect(issues).toContainEqual({ path: "spec", message: "apiServer.enableFloatingIP cannot be true when enableExternalNetwork is false" });
    expect(issues).toContainEqual({ path: "spec.bastion", message: "spec is required if bastion is enabled" });
    expect(issues).toContainEqual({ path: "spec.managedNetwork", message: "managedNetwork must not be empty if set" });
  });

  it("rejects duplicate keys in map lists and a wrong apiVersion", () => {
    const issues = validateObject("OpenStackMachine", {
      ...machine({ serverMetadata: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }),
      apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha3",
    });
    expect(paths(issues)).toContain("spec.serverMetadata[1]");
    expect(issues).toContainEqual({ path: "apiVersion", message: expect.stringMatching(/must be infrastructure.cluster.x-k8s.io\/v1beta2/) });
  });

  it("validates templates and status", () => {
    expect(
      validateObject("OpenStackMachineTemplate", {
        apiVersion: API,
        kind: "OpenStackMachineTemplate",
        spec: { template: { spec: { flavor: { id: "3" }, image: { filter: { name: "u", tags: ["x"] } } } } },
      }),
    ).toEqual([]);
    const issues = validateObject("OpenStackMachine", {
      ...machine({}),
      status: { initialization: { provisioned: true }, conditions: [{ type: "Ready", status: "Maybe", reason: "X", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }], ready: true },
    });
    expect(paths(issues)).toEqual(expect.arrayContaining(["status.conditions[0].status", "status.ready"]));
    expect(validateObject("Nope", {})[0]?.message).toMatch(/unknown kind Nope/);
  });
});
