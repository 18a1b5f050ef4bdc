import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, inject } from "vitest";
import { parseAllDocuments } from "yaml";
import { asClientModel } from "../../src/testenv/index.js";

const FIELD_MANAGER = "capo-test";

function kubeconfigPath(): string {
  const path = inject("kubeconfigPath") ?? process.env.CAPO_TEST_KUBECONFIG;
  if (!path) {
    throw new Error(
      "no test kubeconfig: run integration tests through vitest's `integration` project " +
        "(its globalSetup test/helpers/global-setup.ts starts the kube-apiserver)",
    );
  }
  return path;
}

/** A KubeConfig for the run's kube-apiserver, as cluster admin. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/**
 * A fresh namespace for the tests of this file: created in beforeAll, deleted in afterAll. `.name` is valid inside
 * tests and hooks that run after it. (There is no controller-manager, so a deleted namespace stays Terminating;
 * names are random, so that does not matter.)
 */
export function useTestNamespace(prefix = "test"): { readonly name: string } {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 48) || "test";
  const name = `${base}-${randomBytes(4).toString("hex")}`;
  let created = false;
  beforeAll(async () => {
    await testKubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    created = true;
  });
  afterAll(async () => {
    if (created) await testKubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name });
  });
  return {
    get name(): string {
      if (!created) throw new Error(`test namespace ${name} is only available inside tests and later hooks`);
      return name;
    },
  };
}

/** `kc` with its current context's default namespace set, so namespaced objects without one land there. */
function withNamespace(kc: KubeConfig, namespace: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters,
    users: kc.users,
    contexts: kc.contexts.map((c) => (c.name === kc.currentContext ? { ...c, namespace } : c)),
    currentContext: kc.currentContext,
  });
  return copy;
}

/**
 * Server-side applies (field manager `capo-test`, conflicts forced) every document of `yamlText` in order and
 * returns the objects the apiserver returned. Namespaced objects without a namespace go to `opts.namespace`
 * (default: the kubeconfig's). With `dryRun`, nothing is persisted (`dryRun=All`) but validation runs.
 */
export async function applyManifests(
  kc: KubeConfig,
  yamlText: string,
  opts: { namespace?: string; dryRun?: boolean } = {},
): Promise<object[]> {
  const client = KubernetesObjectApi.makeApiClient(opts.namespace ? withNamespace(kc, opts.namespace) : kc);
  const applied: object[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ""}`);
    const obj = doc.toJS() as KubernetesObject | null;
    if (!obj) continue;
    applied.push(
      await client.patch(
        asClientModel(obj),
        undefined,
        opts.dryRun ? "All" : undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }
  return applied;
}
