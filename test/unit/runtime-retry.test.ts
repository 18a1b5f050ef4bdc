import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { CredentialsGate, CredentialsInvalidError, isAuthRejected, secretDataFingerprint } from "../../src/controllers/credentials-gate.js";
import { classify } from "../../src/controllers/openstackcluster/classify.js";
import {
  BadRequestError,
  ConflictError,
  ConnectionError,
  OverQuotaError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../../src/openstack/index.js";
import { PerKeyBackoff } from "../../src/runtime/backoff.js";
import { fieldsChanged, metadataChanged, specOrMetadataChanged } from "../../src/runtime/predicates.js";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_TRANSIENT_BACKOFF_MAX_MS, WorkQueue } from "../../src/runtime/work-queue.js";

describe("per-object retry limiter", () => {
  it("defaults to a short first retry doubling up to a 15 minute cap", () => {
    const b = new PerKeyBackoff(DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS);
    const delays = Array.from({ length: 14 }, () => b.next("k"));
    expect(delays.slice(0, 4)).toEqual([500, 1000, 2000, 4000]);
    expect(Math.max(...delays)).toBe(15 * 60_000);
    expect(delays.at(-1)).toBe(15 * 60_000);
    // Cumulative: a key failing forever is tried ~11 times in its first 10 minutes, then every 15 minutes.
    let t = 0;
    const tries = delays.filter((d) => (t += d) <= 10 * 60_000).length;
    expect(tries).toBeLessThanOrEqual(11);
  });

  it("keys back off independently and forget() (a success or a spec change) resets one", () => {
    const q = new WorkQueue();
    expect(q.addRateLimited("a")).toBe(500);
    expect(q.addRateLimited("a")).toBe(1000);
    expect(q.addRateLimited("b")).toBe(500);
    expect(q.numRequeues("a")).toBe(2);
    q.forget("a");
    expect(q.addRateLimited("a")).toBe(500);
    q.shutDown();
  });

  it("honours a server's Retry-After when it is longer than the backoff", () => {
    const q = new WorkQueue();
    expect(q.addRateLimited("a", 30_000)).toBe(30_000);
    expect(q.addRateLimited("a", 10)).toBe(1000);
    expect(q.isScheduled("a")).toBe(true);
    expect(q.isScheduled("b")).toBe(false);
    q.shutDown();
  });
});

describe("backoff after a transient service failure (5xx, 429, no answer)", () => {
  const info = { service: "network", method: "POST", path: "/v2.0/networks" };

  it("is capped at 30 s, so an object notices a healed service within 30 s, at most twice a minute", () => {
    const q = new WorkQueue();
    const delays = Array.from({ length: 20 }, () => q.addRateLimited("k", 0, DEFAULT_TRANSIENT_BACKOFF_MAX_MS));
    q.shutDown();
    expect(delays.slice(0, 7)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000]);
    // Recovery: the service heals at any moment; the next try comes at most one cap later.
    expect(Math.max(...delays)).toBe(30_000);
    // Load: after the first minute no more than 2 tries per minute per object (each a few requests: <= 6 a minute).
    let t = 0;
    const at = delays.map((d) => (t += d));
    const perMinute = (from: number) => at.filter((x) => x >= from && x < from + 60_000).length;
    for (const from of [60_000, 120_000, 300_000]) expect(perMinute(from)).toBeLessThanOrEqual(2);
  });

  it("keeps the 15-minute cap for other failures, and a longer Retry-After still wins", () => {
    const q = new WorkQueue();
    const other = Array.from({ length: 14 }, () => q.addRateLimited("other"));
    expect(other.at(-1)).toBe(DEFAULT_BACKOFF_MAX_MS);
    expect(q.addRateLimited("busy", 45_000, DEFAULT_TRANSIENT_BACKOFF_MAX_MS)).toBe(45_000);
    q.shutDown();
  });

  it("is what OpenStack errors that are passing states of the service say of themselves", () => {
    expect(new ServiceUnavailableError("down", { ...info, status: 503 }).transientService).toBe(true);
    expect(new RateLimitedError("slow down", { ...info, status: 429 }).transientService).toBe(true);
    expect(new ConnectionError("refused", { ...info, status: 0 }).transientService).toBe(true);
    expect(new ConflictError("Load Balancer x is immutable", { ...info, status: 409 }).transientService).toBe(true);
    expect(new ConflictError("in use", { ...info, status: 409 }).transientService).toBe(false);
    expect(new BadRequestError("bad", { ...info, status: 400 }).transientService).toBe(false);
    expect(new OverQuotaError("Quota exceeded", { ...info, status: 409, code: "OverQuota" }).transientService).toBe(false);
    expect(new UnauthorizedError("no", { ...info, status: 401 }).transientService).toBe(false);
  });
});

const obj = (o: Record<string, unknown>): KubernetesObject => o as KubernetesObject;

describe("watch predicates", () => {
  const base = obj({ metadata: { name: "x", generation: 1, resourceVersion: "1", labels: { a: "1" } }, spec: { s: 1 }, status: { phase: "A" } });

  it("a status-only write (new resourceVersion, same generation) wakes nothing", () => {
    const next = obj({ ...base, metadata: { ...base.metadata, resourceVersion: "2", managedFields: [{}] }, status: { phase: "B" } });
    expect(specOrMetadataChanged(base, next)).toBe(false);
  });

  it("spec (generation), labels, annotations, finalizers, ownerRefs and deletion wake the object", () => {
    const m = base.metadata!;
    for (const md of [
      { generation: 2 },
      { labels: { a: "2" } },
      { annotations: { "cluster.x-k8s.io/paused": "" } },
      { finalizers: ["f"] },
      { ownerReferences: [{ kind: "Cluster", name: "c" }] },
      { deletionTimestamp: "2026-01-01T00:00:00Z" },
    ]) {
      expect(specOrMetadataChanged(base, obj({ ...base, metadata: { ...m, ...md } })), JSON.stringify(md)).toBe(true);
    }
  });

  it("field and metadata predicates look only at what they name", () => {
    const joined = obj({ ...base, status: { phase: "A", nodeRef: { name: "n" } } });
    expect(fieldsChanged("status.nodeRef")(base, joined)).toBe(true);
    expect(fieldsChanged("status.nodeRef")(base, obj({ ...base, status: { phase: "C" } }))).toBe(false);
    expect(metadataChanged(["deletionTimestamp"])(base, obj({ ...base, metadata: { ...base.metadata, labels: {} } }))).toBe(false);
  });
});

describe("credentials gate", () => {
  const err = () => new CredentialsInvalidError("ns/cloud-config", "capo-sim");

  it("after a refusal, blocks every caller until the data changes, with one probe per interval", () => {
    const gate = new CredentialsGate(600_000);
    const fp = secretDataFingerprint({ "clouds.yaml": "b64" });
    gate.admit("k", fp, err, 0);
    gate.reject("k", fp, 0);
    for (const t of [1, 1000, 599_999]) expect(() => gate.admit("k", fp, err, t)).toThrow(CredentialsInvalidError);
    // New data: admitted at once.
    expect(() => gate.admit("k", secretDataFingerprint({ "clouds.yaml": "fixed" }), err, 2)).not.toThrow();
    // The probe: one caller after the interval; the next one in the same instant is blocked again.
    expect(() => gate.admit("k", fp, err, 600_000)).not.toThrow();
    expect(() => gate.admit("k", fp, err, 600_001)).toThrow(CredentialsInvalidError);
    gate.accept("k");
    expect(() => gate.admit("k", fp, err, 600_002)).not.toThrow();
  });

  it("names the Secret and the cloud in a message that never varies", () => {
    expect(err().reason).toBe("CredentialsInvalid");
    expect(err().message).toBe(new CredentialsInvalidError("ns/cloud-config", "capo-sim").message);
    expect(err().message).toContain("Secret ns/cloud-config");
    expect(err().message).toContain('cloud "capo-sim"');
  });

  it("only a Keystone 401 counts as refused credentials", () => {
    const info = { status: 401, service: "identity", method: "POST", path: "/auth/tokens" };
    expect(isAuthRejected(new UnauthorizedError("no", info))).toBe(true);
    expect(isAuthRejected(new UnauthorizedError("no", { ...info, service: "compute" }))).toBe(false);
  });
});

describe("condition messages", () => {
  it("carry no request id, so identical failures read the same", () => {
    const info = { status: 409, service: "network", method: "POST", path: "/v2.0/networks", code: "OverQuota" };
    const a = classify(new OverQuotaError("Quota exceeded for resources: ['network'].", { ...info, requestId: "req-1" }));
    const b = classify(new OverQuotaError("Quota exceeded for resources: ['network'].", { ...info, requestId: "req-2" }));
    expect(a).toEqual(b);
    expect(a.message).not.toContain("req-");
    const u = classify(new ServiceUnavailableError("down", { ...info, status: 503, requestId: "req-3" }));
    expect(u.kind).toBe("retryable");
    expect(u.message).not.toContain("req-3");
  });
});
