/* eslint-disable @typescript-eslint/no-explicit-any -- these tests walk arbitrary object trees */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Value } from "@sinclair/typebox/value";
import { describe, expect, it } from "vitest";
import { kindDefinition, validateObject } from "../../src/api/index.js";
import { CONVERSION_DATA, convertObject } from "../../src/conversion/convert-object.js";
import { reviewConversion } from "../../src/conversion/review.js";
import { parseDocuments } from "../../src/manifests/yaml.js";

/** The fixtures as the apiserver holds them: with the v1beta1 schema's defaults applied. */
const fixtures = (
  parseDocuments(readFileSync(path.resolve(import.meta.dirname, "../fixtures/v1beta1/objects.yaml"), "utf8"), "objects.yaml") as Record<
    string,
    any
  >[]
).map((o) => Value.Default(kindDefinition(o["kind"])!.v1beta1.schema, o) as Record<string, any>);
const named = (name: string) => fixtures.find((o) => o["metadata"].name === name)!;
const kept = (o: Record<string, any>) => JSON.parse(o["metadata"].annotations[CONVERSION_DATA] as string);

describe("v1beta1 <-> v1beta2 conversion of live objects", () => {
  it("the fixtures are valid upstream v1beta1 objects", () => {
    for (const o of fixtures) {
      const schema = kindDefinition(o["kind"])!.v1beta1.schema;
      expect([...Value.Errors(schema, o)].map((e) => `${o["metadata"].name}: ${e.path} ${e.message}`)).toEqual([]);
    }
  });

  it.each(fixtures.map((o) => [o["kind"], o["metadata"].name, o] as const))(
    "%s %s: v1beta1 -> v1beta2 -> v1beta1 is lossless",
    (_kind, _name, o) => {
      const up = convertObject(structuredClone(o), "v1beta2");
      expect(up["apiVersion"]).toBe("infrastructure.cluster.x-k8s.io/v1beta2");
      expect(convertObject(up, "v1beta1")).toEqual(o);
    },
  );

  it("every fixture converts to a valid v1beta2 object", () => {
    for (const o of fixtures) {
      const up = convertObject(structuredClone(o), "v1beta2");
      const { status: _s, ...withoutStatus } = up;
      expect(validateObject(o["kind"], withoutStatus).map((i) => `${o["metadata"].name}: ${i.path}: ${i.message}`)).toEqual([]);
    }
  });

  it("maps fields with an equivalent field by field", () => {
    const c = convertObject(structuredClone(named("everything")), "v1beta2") as any;
    expect(c.spec.apiServer).toMatchObject({ floatingIP: "172.24.4.100", port: 6443 });
    expect(c.spec.apiServer.managedLoadBalancer.provider).toBe("amphora");
    expect(c.spec.managedNetwork).toEqual({ mtu: 1450, enablePortSecurity: true });
    expect(c.spec.managedSecurityGroups.clusterNodesSecurityGroupRules).toHaveLength(2);
    expect(c.status.failureDomains).toEqual([
      { name: "az1", controlPlane: true },
      { name: "az2", controlPlane: true, attributes: { rack: "r2" } },
    ]);
    expect(c.status.apiServerManagedLoadBalancer.internalIP).toBe("10.6.0.5");
    expect(c.status.conditions[0]).toEqual({
      type: "Ready",
      status: "True",
      lastTransitionTime: "2026-11-01T10:00:00Z",
      reason: "True",
      message: "",
    });
    const m = convertObject(structuredClone(named("everything-control-plane-abcde")), "v1beta2") as any;
    expect(m.spec.flavor).toEqual({ filter: { name: "m1.medium" } });
    expect(m.spec.ports[0].enablePortSecurity).toBe(false);
    expect(m.status.resolved.ports[0].enablePortSecurity).toBe(false);
  });

  it("keeps fields without an equivalent in the conversion-data annotation, not in the v1beta2 spec", () => {
    const up = convertObject(structuredClone(named("flavor-id-and-pool")), "v1beta2") as any;
    expect(up.spec.floatingIPPoolRef).toBeUndefined();
    expect(kept(up).v1beta1.spec.floatingIPPoolRef).toEqual({
      apiGroup: "infrastructure.cluster.x-k8s.io",
      kind: "OpenStackFloatingIPPool",
      name: "pool",
    });
    // An object that maps exactly carries no annotation at all.
    const minimal = structuredClone(named("minimal"));
    expect(convertObject(minimal, "v1beta2")["metadata"]).toEqual(minimal["metadata"]);
  });

  it("an edit made in v1beta2 wins over the kept v1beta1 copy", () => {
    const up = convertObject(structuredClone(named("flavor-and-flavor-id")), "v1beta2") as any;
    up.spec.flavor = { filter: { name: "m1.large" } };
    const down = convertObject(up, "v1beta1") as any;
    expect(down.spec.flavor).toBe("m1.large");
    expect(down.spec.flavorID).toBeUndefined();
    expect(down.metadata.annotations?.[CONVERSION_DATA]).toBeUndefined(); // the new spec maps exactly...
    expect(convertObject(down, "v1beta2")["spec"]).toEqual(up.spec); // ...and comes back as written
  });

  it("v1beta2 -> v1beta1 -> v1beta2 is lossless for v1beta2-only fields", () => {
    const up = convertObject(structuredClone(named("everything")), "v1beta2") as any;
    delete up.metadata.annotations[CONVERSION_DATA];
    up.spec.primarySubnet = { filter: { cidr: "10.6.0.0/24" } };
    up.status.apiServerFloatingIP = { id: "0b0c0d0e-3333-4000-8000-000000000099", ip: "172.24.4.100" };
    const down = convertObject(structuredClone(up), "v1beta1") as any;
    expect(down.spec.primarySubnet).toBeUndefined();
    expect(down.status.ready).toBe(true);
    expect(down.status.failureDomains.az2).toEqual({ controlPlane: true, attributes: { rack: "r2" } });
    expect(convertObject(down, "v1beta2")).toEqual(up);
  });

  it("refuses kinds and versions it does not serve", () => {
    expect(() => convertObject({ apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1", kind: "OpenStackFloatingIPPool" }, "v1beta2")).toThrow(
      /OpenStackFloatingIPPool is not served/,
    );
    expect(() => convertObject({ apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha7", kind: "OpenStackCluster" }, "v1beta2")).toThrow(
      /v1alpha7 cannot be converted/,
    );
  });
});

describe("ConversionReview handling", () => {
  const review = (desiredAPIVersion: string, objects: unknown[]) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "ConversionReview",
    request: { uid: "u-1", desiredAPIVersion, objects },
  });

  it("answers with every object converted, keeping the request uid", () => {
    const r = reviewConversion(review("infrastructure.cluster.x-k8s.io/v1beta2", [named("minimal"), named("everything-md-0")]));
    expect(r.response.uid).toBe("u-1");
    expect(r.response.result).toEqual({ status: "Success" });
    expect(r.response.convertedObjects.map((o: any) => o.apiVersion)).toEqual([
      "infrastructure.cluster.x-k8s.io/v1beta2",
      "infrastructure.cluster.x-k8s.io/v1beta2",
    ]);
  });

  it("fails the whole review, naming the object, when one cannot be converted", () => {
    const bad = { apiVersion: "infrastructure.cluster.x-k8s.io/v1alpha7", kind: "OpenStackCluster", metadata: { name: "old", namespace: "ns" } };
    const r = reviewConversion(review("infrastructure.cluster.x-k8s.io/v1beta1", [named("minimal"), bad]));
    expect(r.response.result.status).toBe("Failure");
    expect(r.response.result.message).toBe("OpenStackCluster ns/old: apiVersion infrastructure.cluster.x-k8s.io/v1alpha7 cannot be converted to infrastructure.cluster.x-k8s.io/v1beta1");
    expect(r.response.convertedObjects).toEqual([]);
    expect(reviewConversion(review("v1", [])).response.result.status).toBe("Failure");
  });
});
