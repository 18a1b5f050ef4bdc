import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreTypes, Manager, Metrics, defineController } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";

// Regression test for the chaos campaign's seed 2026, whose runs 96-99 never converged: a controller killed every
// few seconds spent each life on its initial backlog (every existing object, reconciled again after a start) in the
// apiserver's list order, which is by namespace and name, and was killed before it got to the objects listed last,
// life after life. Namespaces chaos-2026-96 to -99 sort last. The backlog now goes in random order, so each life
// reaches different objects, and every object is reconciled after a few lives.

const OBJECTS = 30;
/** Reconciles per life: a third of the backlog, so no life ever gets through all of it. */
const PER_LIFE = 10;
/** With a random order the last-listed object is missed in one life with p = 2/3; in 20 lives with p < 0.0003. */
const LIVES = 20;

describe("a controller restarted before it gets through its backlog", () => {
  const ns = useTestNamespace("rt-backlog");
  let client: KubeClient;

  beforeAll(async () => {
    client = new KubeClient(testKubeConfig());
    for (let i = 0; i < OBJECTS; i++) {
      const name = `cm-${String(i).padStart(2, "0")}`;
      await client.create<KubernetesObject>(CoreTypes.configMap, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name } });
    }
  });

  afterAll(() => client?.close());

  /** One controller life: starts, reconciles PER_LIFE keys (one at a time), stops; returns the keys it reached. */
  async function life(): Promise<string[]> {
    const reached: string[] = [];
    let endLife: () => void = () => undefined;
    const over = new Promise<void>((r) => (endLife = r));
    const manager = new Manager({ kubeConfig: testKubeConfig(), log: capturingLogger([]), namespace: ns.name, metrics: new Metrics(), concurrency: 1 });
    manager.add(
      defineController({
        name: "backlog",
        primary: CoreTypes.configMap,
        reconcile: async (key) => {
          if (reached.length >= PER_LIFE) return;
          reached.push(key);
          if (reached.length === PER_LIFE) endLife();
        },
      }),
    );
    await manager.start();
    await over;
    await manager.stop();
    return reached;
  }

  it("reaches the object the apiserver lists last within a few lives, and different objects in different lives", async () => {
    const last = `${ns.name}/cm-${String(OBJECTS - 1).padStart(2, "0")}`;
    const lives: string[][] = [];
    while (lives.length < LIVES && (lives.length < 2 || !lives.flat().includes(last))) lives.push(await life());
    expect(lives.every((l) => l.length === PER_LIFE)).toBe(true);
    expect(lives.flat(), `${lives.length} lives`).toContain(last);
    // In list order every life would reconcile cm-00..cm-09; random order reaches others.
    expect(new Set(lives.flat()).size).toBeGreaterThan(PER_LIFE);
  });
});
