import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreTypes, Manager, Metrics, defineController } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { ServiceUnavailableError } from "../../src/openstack/index.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";

// The controller runner caps the backoff of an object whose reconcile failed on a transient service failure (an
// OpenStack 5xx here) at the controller's transientBackoffMaxMs, and keeps the full cap for other failures.
// Scaled down: 20 ms base, 300 ms transient cap, 60 s full cap.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("backoff after transient service failures (real apiserver, runtime controller)", () => {
  const ns = useTestNamespace("rt-transient");
  const attempts = new Map<string, number[]>();
  let client: KubeClient;
  let manager: Manager;

  beforeAll(async () => {
    client = new KubeClient(testKubeConfig());
    manager = new Manager({ kubeConfig: testKubeConfig(), log: capturingLogger([]), namespace: ns.name, metrics: new Metrics() });
    manager.add(
      defineController({
        name: "transient",
        primary: CoreTypes.configMap,
        backoffBaseMs: 20,
        backoffMaxMs: 60_000,
        transientBackoffMaxMs: 300,
        reconcile: async (key) => {
          attempts.set(key, [...(attempts.get(key) ?? []), Date.now()]);
          if (key.endsWith("/outage")) throw new ServiceUnavailableError("Service Unavailable", { status: 503, service: "network", method: "POST", path: "/v2.0/networks" });
          throw new Error("a failure that is not the service's");
        },
      }),
    );
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    client?.close();
  });

  it("retries an object that hit a 503 at least every 300 ms, while another failure backs off to seconds", async () => {
    for (const name of ["outage", "other"]) {
      await client.create<KubernetesObject>(CoreTypes.configMap, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name } });
    }
    await sleep(4_000);
    const gaps = (name: string) => {
      const t = attempts.get(`${ns.name}/${name}`) ?? [];
      return t.slice(1).map((x, i) => x - (t[i] ?? x));
    };
    const outage = gaps("outage");
    const other = gaps("other");
    // 20, 40, 80, 160, then 300 ms each: over 4 s more than a dozen tries, none more than the cap apart.
    expect(outage.length).toBeGreaterThan(10);
    expect(Math.max(...outage.slice(4))).toBeLessThan(300 + 250);
    // 20 ms doubling without the transient cap: 8 tries in 4 s, the last gap over a second.
    expect(other.length).toBeLessThanOrEqual(9);
    expect(Math.max(...other)).toBeGreaterThan(1_000);
  });
});
