import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/runtime/duration.js";
import { parseBindAddress, startProbeServer } from "../../src/runtime/http-server.js";
import { parseLabelSelector } from "../../src/runtime/label-selector.js";
import { ownerKeys, refKeys } from "../../src/runtime/mappers.js";
import { createMergePatch, jsonEqual } from "../../src/runtime/merge-patch.js";
import { Metrics } from "../../src/runtime/metrics.js";
import { openStackMetricsHook } from "../../src/runtime/openstack-hook.js";
import { keyOf, parseKey, resourcePath } from "../../src/runtime/resource.js";
import { UserError } from "../../src/util/errors.js";

describe("label selectors", () => {
  it("matches equality, set and existence requirements", () => {
    const m = parseLabelSelector("app=web, tier!=db, env in (prod, staging), !legacy, team");
    expect(m({ app: "web", env: "prod", team: "a" })).toBe(true);
    expect(m({ app: "web", env: "dev", team: "a" })).toBe(false);
    expect(m({ app: "web", env: "prod", team: "a", legacy: "1" })).toBe(false);
    expect(m({ app: "web", env: "prod", team: "a", tier: "db" })).toBe(false);
    expect(m({ app: "web", env: "prod" })).toBe(false);
    expect(parseLabelSelector("")(undefined)).toBe(true);
    expect(parseLabelSelector("x notin (a)")({ x: "b" })).toBe(true);
    expect(parseLabelSelector("x notin (a)")({ x: "a" })).toBe(false);
  });
});

describe("createMergePatch", () => {
  it("emits changed keys, nulls for removed keys, and whole arrays", () => {
    expect(
      createMergePatch(
        { status: { ready: false, network: { id: "n1" }, gone: 1, list: [1, 2] } },
        { status: { ready: true, network: { id: "n1" }, list: [1, 2, 3], added: { a: 1 } } },
      ),
    ).toEqual({ status: { ready: true, gone: null, list: [1, 2, 3], added: { a: 1 } } });
    expect(createMergePatch({ a: { b: 1 } }, { a: { b: 1 } })).toBeUndefined();
  });

  it("sends nothing for an array whose objects differ only in key order (a condition as stored vs as rebuilt)", () => {
    const stored = { lastTransitionTime: "2026-01-01T00:00:00Z", message: "", observedGeneration: 1, reason: "Ready", status: "True", type: "Ready" };
    const rebuilt = { type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: 1 };
    expect(createMergePatch({ status: { conditions: [stored] } }, { status: { conditions: [rebuilt] } })).toBeUndefined();
    expect(createMergePatch({ status: { conditions: [stored] } }, { status: { conditions: [{ ...rebuilt, observedGeneration: 2 }] } })).toEqual({
      status: { conditions: [{ ...rebuilt, observedGeneration: 2 }] },
    });
  });
});

describe("jsonEqual", () => {
  it("compares JSON values deeply, ignoring key order and undefined members, not array order", () => {
    expect(jsonEqual({ a: 1, b: { c: [1, { d: null }] } }, { b: { c: [1, { d: null }] }, a: 1, e: undefined })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: null }, {})).toBe(false);
    expect(jsonEqual("1", 1)).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});

describe("durations and bind addresses", () => {
  it("parses Go-style durations", () => {
    expect(parseDuration("30s", "--x")).toBe(30_000);
    expect(parseDuration("1h30m", "--x")).toBe(5_400_000);
    expect(parseDuration("250ms", "--x")).toBe(250);
    expect(parseDuration("15", "--x")).toBe(15_000);
    expect(() => parseDuration("ten minutes", "--sync-period")).toThrow(/--sync-period.*ten minutes/);
  });

  it("parses host:port like controller-runtime flags", () => {
    expect(parseBindAddress(":8080", "--m")).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseBindAddress("127.0.0.1:0", "--m")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseBindAddress("[::1]:9440", "--m")).toEqual({ host: "::1", port: 9440 });
    expect(parseBindAddress("0", "--m")).toBeUndefined();
    expect(() => parseBindAddress("localhost", "--metrics-bind-address")).toThrow(UserError);
  });
});

describe("resource helpers and mappers", () => {
  it("builds REST paths for core, grouped, namespaced and cluster-scoped types", () => {
    const osc = { group: "infrastructure.cluster.x-k8s.io", version: "v1beta2", plural: "openstackclusters", kind: "OpenStackCluster" };
    expect(resourcePath(osc, { namespace: "ns", name: "c", subresource: "status" })).toBe(
      "/apis/infrastructure.cluster.x-k8s.io/v1beta2/namespaces/ns/openstackclusters/c/status",
    );
    expect(resourcePath({ group: "", version: "v1", plural: "configmaps", kind: "ConfigMap" })).toBe("/api/v1/configmaps");
    expect(resourcePath({ group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false }, { namespace: "x", name: "y" })).toBe(
      "/api/v1/namespaces/y",
    );
    expect(parseKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(parseKey("a")).toEqual({ name: "a" });
    expect(keyOf({ metadata: { name: "a", namespace: "ns" } })).toBe("ns/a");
  });

  it("maps owners and references to primary keys", () => {
    const machine = {
      metadata: {
        name: "m1",
        namespace: "ns",
        ownerReferences: [
          { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Machine", name: "m1", uid: "u" },
          { apiVersion: "other.io/v1", kind: "Machine", name: "x", uid: "v" },
        ],
      },
    };
    expect(ownerKeys(machine, "Machine", "cluster.x-k8s.io")).toEqual(["ns/m1"]);
    const cluster = { metadata: { name: "c", namespace: "ns" }, spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: "c-osc" } } };
    expect(refKeys(cluster, "infrastructureRef", "OpenStackCluster")).toEqual(["ns/c-osc"]);
    expect(refKeys(cluster, "infrastructureRef", "AWSCluster")).toEqual([]);
  });
});

describe("metrics and probe server", () => {
  it("serves healthz/readyz checks and Prometheus metrics including OpenStack requests", async () => {
    const metrics = new Metrics();
    metrics.recordOpenStackRequest({ service: "compute", method: "get", pathTemplate: "/servers/{id}", status: 200, latencyMs: 42 });
    metrics.recordOpenStackRequest({ service: "compute", method: "GET", pathTemplate: "/servers/{id}", status: 200, latencyMs: 8 });
    let ready = false;
    const srv = await startProbeServer(
      { host: "127.0.0.1", port: 0 },
      { healthz: [() => undefined], readyz: [() => (ready ? undefined : "caches not synced")], metrics: metrics.registry },
    );
    try {
      expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${srv.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toContain("caches not synced");
      ready = true;
      expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
      const body = await (await fetch(`${srv.url}/metrics`)).text();
      expect(body).toContain('openstack_requests_total{service="compute",method="GET",path_template="/servers/{id}",status="200"} 2');
      expect(body).toContain('openstack_request_duration_seconds_bucket{le="0.05",service="compute",method="GET",path_template="/servers/{id}",status="200"} 2');
      expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    } finally {
      await srv.close();
    }
  });

  it("adapts the OpenStack client's request events (path template, status 0 for no response)", async () => {
    const metrics = new Metrics();
    const hook = openStackMetricsHook(metrics);
    hook({ service: "network", method: "POST", path: "/networks", status: 201, latencyMs: 12, attempt: 0 });
    hook({ service: "network", method: "POST", path: "/networks", status: 0, latencyMs: 3000, attempt: 1 });
    const values = (await metrics.openstackRequests.get()).values;
    expect(values.map((v) => [v.labels.status, v.labels.path_template, v.value])).toEqual([
      ["201", "/networks", 1],
      ["0", "/networks", 1],
    ]);
  });
});
