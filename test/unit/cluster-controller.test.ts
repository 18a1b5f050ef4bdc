import { afterAll, describe, expect, it } from "vitest";
import { closeCachedSessions, cloudFromSecret, openStackSessionFor, readIdentitySecret, unauthenticatedSessionFor } from "../../src/controllers/credentials.js";
import { DeferredStatus, endingWithFlush } from "../../src/controllers/deferred-status.js";
import { classify } from "../../src/controllers/openstackcluster/classify.js";
import { setCondition, type Condition } from "../../src/controllers/conditions.js";
import { markProvisioned, readyCondition } from "../../src/controllers/openstackcluster/readiness.js";
import type { ClusterStatus, OpenStackClusterObject } from "../../src/controllers/openstackcluster/types.js";
import { BadRequestError, OverQuotaError, RateLimitedError, ServiceUnavailableError } from "../../src/openstack/index.js";
import { KubeApiError, type CacheLookup, type KubeClient } from "../../src/runtime/index.js";
import { TerminalError } from "../../src/services/errors.js";
import { UserError } from "../../src/util/errors.js";
import { capturingLogger } from "../helpers/log.js";

const PASSWORD = "n0t-in-any-message-9281";
const cloudsYaml = `clouds:
  mycloud:
    auth:
      auth_url: http://127.0.0.1:1/identity/v3
      username: demo
      password: ${PASSWORD}
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

function secret(data: Record<string, string>, rv = "1", uid = "uid-1") {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "ns", uid, resourceVersion: rv }, data };
}

/** Only what openStackSessionFor uses of the Kubernetes client: get(). */
function fakeKube(objects: () => Record<string, unknown> | undefined): KubeClient & { gets: number } {
  const k = {
    gets: 0,
    async get() {
      k.gets++;
      const o = objects();
      if (!o) throw new KubeApiError(404, "NotFound", 'secrets "creds" not found', "GET", "/api/v1/namespaces/ns/secrets/creds");
      return o;
    },
  };
  return k as unknown as KubeClient & { gets: number };
}

afterAll(async () => {
  await closeCachedSessions();
});

describe("credentials from the identity Secret", () => {
  const ref = { name: "creds", cloudName: "mycloud" };

  it("resolves the cloud, with the Secret's cacert and identityRef.region", async () => {
    const cloud = await cloudFromSecret(secret({ "clouds.yaml": b64(cloudsYaml), cacert: b64("PEM") }), "Secret ns/creds", { ...ref, region: "RegionTwo" });
    expect(cloud.name).toBe("mycloud");
    expect(cloud.cacertPem).toBe("PEM");
    expect(cloud.regionName).toBe("RegionTwo");
    expect(cloud.auth.authUrl).toBe("http://127.0.0.1:1/identity/v3");
  });

  it("missing Secret, missing key, unknown cloud and bad YAML: UserErrors naming the Secret, never the password", async () => {
    const errors: unknown[] = [];
    const cases: (Record<string, string> | undefined)[] = [undefined, { other: b64("x") }, { "clouds.yaml": b64(cloudsYaml.replace("mycloud", "othercloud")) }, { "clouds.yaml": b64("clouds: [: bad") }];
    for (const data of cases) {
      const k = fakeKube(() => (data ? secret(data) : undefined));
      errors.push(await openStackSessionFor(k, "ns", ref).catch((e: unknown) => e));
    }
    const messages = errors.map((e) => (e instanceof UserError ? e.message : `not a UserError: ${String(e)}`));
    expect(messages[0]).toMatch(/Secret ns\/creds \(identityRef.name\) not found/);
    expect(messages[1]).toMatch(/Secret ns\/creds has no key "clouds.yaml" \(keys: other\)/);
    expect(messages[2]).toMatch(/cloud "mycloud" \(identityRef.cloudName\) not found in Secret ns\/creds key clouds.yaml; known clouds: othercloud/);
    expect(messages[3]).toMatch(/Secret ns\/creds key clouds.yaml.*YAML/);
    for (const m of messages) expect(m).not.toContain(PASSWORD);
  });

  it("caches the session per Secret uid + resourceVersion + cloud", async () => {
    let current = secret({ "clouds.yaml": b64(cloudsYaml) }, "1");
    const k = fakeKube(() => current);
    const sessionFor = async () => (await unauthenticatedSessionFor(k, "ns", ref)).session;
    const s1 = await sessionFor();
    const s2 = await sessionFor();
    expect(s2).toBe(s1);
    current = secret({ "clouds.yaml": b64(cloudsYaml) }, "2");
    const s3 = await sessionFor();
    expect(s3).not.toBe(s1);
    current = secret({ "clouds.yaml": b64(cloudsYaml) }, "2", "uid-2");
    expect(await sessionFor()).not.toBe(s3);
    expect(k.gets).toBe(4);
  });

  it("reads a watched (labelled) Secret from the informer cache, any other from the apiserver", async () => {
    const watched = secret({ "clouds.yaml": b64(cloudsYaml) }, "7");
    const k = fakeKube(() => secret({ "clouds.yaml": b64(cloudsYaml) }, "7"));
    const cache = (entries: Record<string, unknown>): CacheLookup =>
      ({
        get: (_type: unknown, key: string) => entries[key],
        list: () => [],
        reader: () => {
          throw new Error("unused");
        },
      }) as unknown as CacheLookup;
    expect(await readIdentitySecret({ client: k, cache: cache({ "ns/creds": watched }) }, "ns", "creds")).toBe(watched);
    expect(k.gets).toBe(0);
    expect((await readIdentitySecret({ client: k, cache: cache({}) }, "ns", "creds"))?.metadata?.resourceVersion).toBe("7");
    expect(k.gets).toBe(1);
    // A process without a Secret informer (the cache throws) still finds the Secret.
    const noInformer = { get: () => { throw new Error("no informer for secrets"); } } as unknown as CacheLookup;
    expect(await readIdentitySecret({ client: k, cache: noInformer }, "ns", "creds")).toBeDefined();
    expect(k.gets).toBe(2);
    const gone = fakeKube(() => undefined);
    expect(await readIdentitySecret({ client: gone, cache: cache({}) }, "ns", "creds")).toBeUndefined();
  });
});

describe("deferred status", () => {
  it("applies the deferred changes in order before the change that writes them, once", () => {
    const d = new DeferredStatus<{ log: string[] }>();
    d.defer((s) => s.log.push("a"));
    d.defer((s) => s.log.push("b"));
    const status = { log: [] as string[] };
    for (const change of d.take((s) => s.log.push("now"))) change(status);
    expect(status.log).toEqual(["a", "b", "now"]);
    expect(d.take()).toEqual([]);
  });

  it("writes the deferred status when a pass ends, and when it fails keeps the pass's own error", async () => {
    const lines: string[] = [];
    const log = capturingLogger(lines);
    let flushes = 0;
    expect(await endingWithFlush(async () => void flushes++, log, async () => "done")).toBe("done");
    expect(flushes).toBe(1);
    const failing = endingWithFlush(
      async () => {
        flushes++;
        throw new Error("apiserver gone");
      },
      log,
      async () => {
        throw new Error("Neutron said no");
      },
    );
    await expect(failing).rejects.toThrow("Neutron said no");
    expect(flushes).toBe(2);
    expect(lines.some((l) => l.includes("could not write the deferred status") && l.includes("apiserver gone"))).toBe(true);
  });
});

describe("error classification", () => {
  const info = { status: 0, service: "network", method: "POST", path: "/networks", requestId: "req-1" };
  it("5xx and 429 are retryable; quota, bad requests, our TerminalErrors and credential problems are terminal", () => {
    expect(classify(new ServiceUnavailableError("boom", { ...info, status: 503 })).kind).toBe("retryable");
    expect(classify(new RateLimitedError("slow down", { ...info, status: 429 })).kind).toBe("retryable");
    const quota = classify(new OverQuotaError("Quota exceeded for resources: ['network'].", { ...info, status: 409 }));
    expect(quota).toMatchObject({ kind: "terminal", reason: "QuotaExceeded" });
    // No request id: identical failures must read the same (it goes to the log line instead).
    expect(quota.message).not.toContain("req-1");
    expect(classify(new BadRequestError("Invalid input", { ...info, status: 400 })).kind).toBe("terminal");
    expect(classify(new TerminalError("ExternalNetworkNotFound", "externalNetwork.filter {\"name\":\"x\"} matched no external network"))).toEqual({
      kind: "terminal",
      reason: "ExternalNetworkNotFound",
      message: 'externalNetwork.filter {"name":"x"} matched no external network',
    });
    expect(classify(new UserError("Secret ns/x not found")).kind).toBe("terminal");
    expect(classify(new Error("socket hang up")).kind).toBe("retryable");
  });
});

describe("conditions", () => {
  it("keeps lastTransitionTime while the status stays, changes it on a transition", () => {
    const list: Condition[] = [];
    setCondition(list, { type: "Ready", status: "False", reason: "A", message: "a" }, 1, new Date("2026-01-01T00:00:00Z"));
    setCondition(list, { type: "Ready", status: "False", reason: "B", message: "b" }, 2, new Date("2026-01-02T00:00:00Z"));
    expect(list).toEqual([{ type: "Ready", status: "False", reason: "B", message: "b", lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: 2 }]);
    setCondition(list, { type: "Ready", status: "True", reason: "Ok" }, 2, new Date("2026-01-03T00:00:00Z"));
    expect(list[0]?.lastTransitionTime).toBe("2026-01-03T00:00:00Z");
    expect(list[0]?.message).toBe("");
  });
});

describe("provisioned and Ready are written together", () => {
  type Spec = OpenStackClusterObject["spec"];
  const base: Spec = { identityRef: { name: "creds", cloudName: "mycloud" } } as Spec;
  const bastionSpec = { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } } };
  const withBastion = { ...base, bastion: { enabled: true, spec: bastionSpec } } as Spec;
  const now = new Date("2026-01-01T00:00:00Z");
  const bastionCondition = (status: Condition["status"], reason: string, message = ""): Condition => ({
    type: "BastionReady",
    status,
    reason,
    message,
    lastTransitionTime: "2025-12-31T00:00:00Z",
  });

  it("first provisioning without a bastion: provisioned and Ready=True in one status", () => {
    const s: ClusterStatus = { conditions: [{ ...bastionCondition("False", "X"), type: "Paused" }] };
    markProvisioned(s, base, 3, now);
    expect(s.initialization).toEqual({ provisioned: true });
    expect(s.conditions?.find((c) => c.type === "Ready")).toEqual({
      type: "Ready",
      status: "True",
      reason: "Provisioned",
      message: "",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 3,
    });
  });

  it("a bastion still to create, building, removed from the spec, or failing keeps Ready=False in that same write", () => {
    const first: ClusterStatus = {};
    markProvisioned(first, withBastion, 1, now);
    expect(first.initialization?.provisioned).toBe(true);
    expect(first.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "BastionNotReady", message: "waiting for the bastion server" });

    const building: ClusterStatus = { conditions: [bastionCondition("False", "Building", "bastion server is BUILD")] };
    expect(readyCondition(withBastion, building)).toEqual({ type: "Ready", status: "False", reason: "BastionNotReady", message: "waiting for the bastion server" });

    const removing: ClusterStatus = { bastion: { name: "b", id: "srv" } as ClusterStatus["bastion"], conditions: [bastionCondition("True", "Ready")] };
    expect(readyCondition({ ...withBastion, bastion: { enabled: false } } as Spec, removing)).toMatchObject({ status: "False", reason: "BastionNotReady", message: "removing the bastion" });

    // The failing step writes Ready as "<condition>: <message>" with its reason; recomputing gives the same.
    const failing: ClusterStatus = { conditions: [bastionCondition("False", "FlavorNotFound", "bastion.spec.flavor m9.huge not found")] };
    expect(readyCondition(withBastion, failing)).toEqual({
      type: "Ready",
      status: "False",
      reason: "FlavorNotFound",
      message: "BastionReady: bastion.spec.flavor m9.huge not found",
    });
  });

  it("a ready bastion, or a disabled one with nothing left, gives Ready=True", () => {
    expect(readyCondition(withBastion, { conditions: [bastionCondition("True", "Ready")] })).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(readyCondition({ ...base, bastion: { enabled: false } } as Spec, {})).toMatchObject({ status: "True", reason: "Provisioned" });
  });
});
