import { describe, expect, it } from "vitest";
import { backoffDelayMs, isIdempotent, parseRetryAfter, withRetryDefaults } from "../../src/openstack/retry.js";
import { findEndpoint, versionedBase } from "../../src/openstack/catalog.js";
import { ospath, templateOf } from "../../src/openstack/path-template.js";
import { compareMicroversions, pickComputeMicroversion } from "../../src/openstack/microversion.js";
import { identityV3FromVersions } from "../../src/openstack/keystone.js";
import { nextPageHref, queryOfHref } from "../../src/openstack/pagination.js";
import { buildQuery } from "../../src/openstack/session.js";
import { readFileSync } from "node:fs";
import { sharedPath } from "../helpers/shared.js";

const ref = (f: string): { response: { body: unknown } } =>
  JSON.parse(readFileSync(sharedPath("openstack-reference", "zed", f), "utf8")) as { response: { body: unknown } };

describe("backoff", () => {
  const o = withRetryDefaults({ baseDelayMs: 100, maxDelayMs: 1000 });
  it("grows exponentially with jitter inside [d/2, d] and is capped", () => {
    expect(backoffDelayMs(1, o, undefined, () => 0)).toBe(50);
    expect(backoffDelayMs(1, o, undefined, () => 1)).toBe(100);
    expect(backoffDelayMs(3, o, undefined, () => 0.5)).toBe(300);
    expect(backoffDelayMs(10, o, undefined, () => 1)).toBe(1000);
  });
  it("prefers Retry-After, capped", () => {
    expect(backoffDelayMs(1, o, 2500)).toBe(2500);
    expect(backoffDelayMs(1, o, 10 * 60_000)).toBe(60_000);
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
  it("knows the idempotent methods", () => {
    expect(["GET", "PUT", "DELETE", "HEAD"].every(isIdempotent)).toBe(true);
    expect(isIdempotent("POST")).toBe(false);
    expect(isIdempotent("PATCH")).toBe(false);
  });
});

describe("catalog", () => {
  const token = ref("004-keystone-auth-password.json").response.body as { token: { catalog: never[] } };
  it("finds endpoints in the recorded Zed catalog and versions them", () => {
    const net = findEndpoint(token.token.catalog, "network", "public", "RegionOne");
    expect(net).toBe("http://127.0.0.1:9696");
    expect(versionedBase("network", net ?? "", undefined)).toBe("http://127.0.0.1:9696/v2.0");
    expect(versionedBase("compute", findEndpoint(token.token.catalog, "compute", "internal") ?? "", undefined)).toBe("http://127.0.0.1:8774/v2.1");
    expect(versionedBase("image", findEndpoint(token.token.catalog, "image", "admin") ?? "", undefined)).toBe("http://127.0.0.1:9292/v2");
    expect(findEndpoint(token.token.catalog, "compute", "public", "Elsewhere")).toBeUndefined();
  });
  it("handles devstack-style paths and Cinder's project id", () => {
    expect(versionedBase("load-balancer", "http://h/load-balancer", undefined)).toBe("http://h/load-balancer/v2");
    expect(versionedBase("load-balancer", "http://h:9876/v2.0/", undefined)).toBe("http://h:9876/v2.0");
    expect(versionedBase("block-storage", "http://h/volume/v3/abc", "abc")).toBe("http://h/volume/v3/abc");
    expect(versionedBase("block-storage", "http://h/volume", "abc")).toBe("http://h/volume/v3/abc");
    expect(versionedBase("compute", "http://h/compute", undefined)).toBe("http://h/compute/v2.1");
  });
});

describe("paths, versions, pages", () => {
  it("templates ids for metrics", () => {
    expect(ospath`/servers/${"a b"}/tags/${"x/y"}`).toEqual({ path: "/servers/a%20b/tags/x%2Fy", template: "/servers/{id}/tags/{id}" });
    expect(templateOf("/servers/501c4f8d-e5fc-4df0-9b9f-031fae6a0bb5/os-interface?x=1")).toBe("/servers/{id}/os-interface");
    expect(templateOf("/users/8342cee5944340c5a6ed37f5cdf4b0a7/application_credentials")).toBe("/users/{id}/application_credentials");
  });
  it("picks the Nova microversion from the recorded version document", () => {
    expect(pickComputeMicroversion(ref("007-nova-version-v21.json").response.body)).toBe("2.60");
    expect(pickComputeMicroversion({ version: { version: "2.42" } })).toBe("2.42");
    expect(pickComputeMicroversion({ version: { version: "" } })).toBeUndefined();
    expect(compareMicroversions("2.9", "2.60")).toBeLessThan(0);
  });
  it("finds v3 in Keystone's recorded 300 Multiple Choices", () => {
    expect(identityV3FromVersions(ref("002-keystone-version-root.json").response.body)).toBe("http://127.0.0.1:5000/v3");
  });
  it("reads next links from the recorded Neutron and Glance pages", () => {
    const ports = nextPageHref(ref("044-neutron-ports-paginated.json").response.body, "ports");
    expect(queryOfHref(ports ?? "")).toEqual({ network_id: "c452d7d0-4ddb-4075-b33f-0c146bb2791c", limit: "2", marker: "34fe31f6-fc18-45d2-8d17-4db9f3e365fe" });
    expect(nextPageHref(ref("022-glance-images-paginated.json").response.body, "images")).toBe("/v2/images?limit=1&marker=cb8bb61f-0695-44b1-9b3f-f7e5ff0db1d1");
    expect(nextPageHref(ref("106-octavia-lbs-by-name.json").response.body, "loadbalancers")).toBeUndefined();
    expect(buildQuery({ fields: ["id", "name"], name: "cap-net", skip: undefined })).toBe("?fields=id&fields=name&name=cap-net");
  });
});
