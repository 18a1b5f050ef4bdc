import { ApiextensionsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeApiError } from "../../src/testenv/crds.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ns = useTestNamespace("api-crds");
const GROUP = "infrastructure.cluster.x-k8s.io";

function cluster(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: `${GROUP}/v1beta2`,
    kind: "OpenStackCluster",
    metadata: { name },
    spec: { identityRef: { name: "cloud-config", cloudName: "openstack" }, ...spec },
  });
}

function machine(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: `${GROUP}/v1beta2`,
    kind: "OpenStackMachine",
    metadata: { name },
    spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "ubuntu" } }, ...spec },
  });
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return describeApiError(e);
  }
  throw new Error("expected the apiserver to reject the request");
}

describe("our CRDs on a real kube-apiserver", () => {
  it("are installed with the contract labels, short names, status subresource and printer columns", async () => {
    const api = testKubeConfig().makeApiClient(ApiextensionsV1Api);
    const crd = await api.readCustomResourceDefinition({ name: `openstackclusters.${GROUP}` });
    expect(crd.metadata?.labels?.["cluster.x-k8s.io/v1beta2"]).toBe("v1beta2");
    expect(crd.spec.names.shortNames).toEqual(["osc"]);
    const v = crd.spec.versions[0]!;
    expect(v.subresources?.status).toEqual({});
    expect(v.additionalPrinterColumns?.map((c) => c.name)).toEqual(
      expect.arrayContaining(["Ready", "Network", "Endpoint", "Age"]),
    );
    const m = await api.readCustomResourceDefinition({ name: `openstackmachines.${GROUP}` });
    expect(m.spec.versions[0]!.additionalPrinterColumns?.map((c) => c.name)).toEqual(
      expect.arrayContaining(["InstanceState", "Ready", "ProviderID", "Age"]),
    );
  });

  it("accepts a full OpenStackCluster and applies upstream's defaults", async () => {
    const [out] = (await applyManifests(
      testKubeConfig(),
      cluster("full", {
        managedSubnets: [{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8"] }],
        externalNetwork: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" },
        apiServer: { managedLoadBalancer: { allowedCIDRs: ["0.0.0.0/0"], monitor: {} } },
        managedSecurityGroups: { allowAllInClusterTraffic: true },
        bastion: { spec: { flavor: { id: "3" }, image: { id: "a7f5a5f5-1c38-4f2b-9d1e-3f4b8c2e5d10" } } },
        controlPlaneAvailabilityZones: ["nova"],
      }),
      { namespace: ns.name },
    )) as [{ spec: { apiServer: { managedLoadBalancer: { enabled: boolean; monitor: { delay: number } } }; bastion: { enabled: boolean }; identityRef: { type: string } } }];
    expect(out.spec.apiServer.managedLoadBalancer.enabled).toBe(true);
    expect(out.spec.apiServer.managedLoadBalancer.monitor.delay).toBe(10);
    expect(out.spec.bastion.enabled).toBe(true);
    expect(out.spec.identityRef.type).toBe("Secret");
  });

  it("rejects an unsupported field by name under strict field validation", async () => {
    const api = testKubeConfig().makeApiClient(CustomObjectsApi);
    const msg = await rejection(
      api.createNamespacedCustomObject({
        group: GROUP,
        version: "v1beta2",
        namespace: ns.name,
        plural: "openstackclusters",
        body: JSON.parse(cluster("strict", { nodeCidr: "10.6.0.0/24" })) as object,
        fieldValidation: "Strict",
        dryRun: "All",
      }),
    );
    expect(msg).toMatch(/unknown field "spec.nodeCidr"/);
  });

  it("rejects a network given by both id and filter", async () => {
    const msg = await rejection(
      applyManifests(
        testKubeConfig(),
        cluster("both", { network: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650", filter: { name: "x" } } }),
        { namespace: ns.name, dryRun: true },
      ),
    );
    expect(msg).toMatch(/spec\.network/);
    expect(msg).toMatch(/exactly one of id or filter must be set/);
  });

  it("rejects a bad CIDR and a bad IP", async () => {
    const msg = await rejection(
      applyManifests(
        testKubeConfig(),
        cluster("badcidr", {
          managedSubnets: [{ cidr: "10.6.0.0/99" }],
        }),
        { namespace: ns.name, dryRun: true },
      ),
    );
    expect(msg).toMatch(/spec\.managedSubnets\[0\]\.cidr.*must be of type cidr/);
    const msg2 = await rejection(
      applyManifests(
        testKubeConfig(),
        cluster("badip", { managedSubnets: [{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.300"] }] }),
        { namespace: ns.name, dryRun: true },
      ),
    );
    expect(msg2).toMatch(/spec\.managedSubnets\[0\]\.dnsNameservers\[0\].*must be a valid IP address/);
  });

  it("rejects changing an immutable OpenStackMachine field, and allows setting providerID once", async () => {
    const kc = testKubeConfig();
    await applyManifests(kc, machine("m0", {}), { namespace: ns.name });
    await applyManifests(kc, machine("m0", { providerID: "openstack:///abc" }), { namespace: ns.name });
    const msg = await rejection(
      applyManifests(kc, machine("m0", { providerID: "openstack:///abc", flavor: { filter: { name: "m1.large" } } }), {
        namespace: ns.name,
      }),
    );
    expect(msg).toMatch(/OpenStackMachine spec field flavor is immutable/);
    const msg2 = await rejection(
      applyManifests(kc, machine("m0", { providerID: "openstack:///other" }), { namespace: ns.name }),
    );
    expect(msg2).toMatch(/providerID cannot be changed once set/);
    const obj = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: "v1beta2",
      namespace: ns.name,
      plural: "openstackmachines",
      name: "m0",
    })) as { spec: { flavor: unknown } };
    expect(obj.spec.flavor).toEqual({ filter: { name: "m1.small" } });
  });

  it("rejects changing the cluster network once set", async () => {
    const kc = testKubeConfig();
    await applyManifests(kc, cluster("c1", { network: { filter: { name: "a" } } }), { namespace: ns.name });
    const msg = await rejection(
      applyManifests(kc, cluster("c1", { network: { filter: { name: "b" } } }), { namespace: ns.name }),
    );
    expect(msg).toMatch(/OpenStackCluster spec field network cannot be changed or removed once set/);
  });

  it("rejects changing a running bastion, and adding a load balancer later", async () => {
    const kc = testKubeConfig();
    const bastion = (flavor: string, enabled: boolean) => ({
      bastion: { enabled, spec: { flavor: { filter: { name: flavor } }, image: { filter: { name: "ubuntu" } } } },
    });
    await applyManifests(kc, cluster("b1", bastion("small", true)), { namespace: ns.name });
    const msg = await rejection(applyManifests(kc, cluster("b1", bastion("large", true)), { namespace: ns.name }));
    expect(msg).toMatch(/bastion spec cannot be changed while the bastion is enabled/);
    await applyManifests(kc, cluster("b1", bastion("small", false)), { namespace: ns.name });
    await applyManifests(kc, cluster("b1", bastion("large", false)), { namespace: ns.name });

    await applyManifests(kc, cluster("lb1", { apiServer: { enableFloatingIP: true } }), { namespace: ns.name });
    const msg2 = await rejection(
      applyManifests(kc, cluster("lb1", { apiServer: { enableFloatingIP: true, managedLoadBalancer: {} } }), {
        namespace: ns.name,
      }),
    );
    expect(msg2).toMatch(/apiServer.managedLoadBalancer cannot be added or removed after creation/);
  });

  it("rejects an OpenStackMachineTemplate spec change", async () => {
    const kc = testKubeConfig();
    const tmpl = (flavor: string) =>
      JSON.stringify({
        apiVersion: `${GROUP}/v1beta2`,
        kind: "OpenStackMachineTemplate",
        metadata: { name: "t0" },
        spec: { template: { spec: { flavor: { filter: { name: flavor } }, image: { filter: { name: "ubuntu" } } } } },
      });
    await applyManifests(kc, tmpl("a"), { namespace: ns.name });
    const msg = await rejection(applyManifests(kc, tmpl("b"), { namespace: ns.name }));
    expect(msg).toMatch(/spec.template.spec is immutable/);
  });
});
