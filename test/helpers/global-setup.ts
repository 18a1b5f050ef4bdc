import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureTestBins, installCrds, repoRoot, startControlPlane } from "../../src/testenv/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the run's kube-apiserver (also in process.env.CAPO_TEST_KUBECONFIG). */
    kubeconfigPath: string;
  }
}

/**
 * One etcd + kube-apiserver for the whole integration run, with our CRDs (config/crd) and Cluster API's installed.
 * Tests get a namespace each (test/helpers/k8s.ts useTestNamespace). The control plane is stopped in teardown, and
 * by src/testenv's exit/signal handlers if the run is interrupted.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const bins = await ensureTestBins();
  const cp = await startControlPlane();
  try {
    const crds = await installCrds(cp.kubeconfigPath, [join(repoRoot(), "config", "crd"), bins.capiCrdDir]);
    console.log(
      `testenv: kube-apiserver ${bins.kubernetesVersion} at ${cp.apiServerUrl}, ${crds.length} CRDs installed, ` +
        `ready in ${Date.now() - started} ms`,
    );
  } catch (e) {
    await cp.stop();
    throw e;
  }
  process.env.CAPO_TEST_KUBECONFIG = cp.kubeconfigPath;
  project.provide("kubeconfigPath", cp.kubeconfigPath);
  return async () => {
    await cp.stop();
  };
}
