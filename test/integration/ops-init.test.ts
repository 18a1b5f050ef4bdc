import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerComponents } from "../../src/ops/components.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { runCapo } from "./ops-cli.js";

interface Deployment {
  spec: { template: { spec: { serviceAccountName?: string; containers: { name: string; image: string }[] } } };
}

describe("capo init against the real kube-apiserver", () => {
  // capo init creates its own namespace; a random name keeps runs apart. The test namespace hosts the
  // no-permission ServiceAccount.
  const target = `capo-ops-${randomBytes(4).toString("hex")}`;
  const ns = useTestNamespace("ops-init");
  let dir: string;
  let kubeconfig: string;
  let client: KubeClient;
  // What config/ holds today: the CRDs exist already (the test environment installed them), the rest is new.
  const total = providerComponents().length;
  const crds = providerComponents().filter((o) => o.kind === "CustomResourceDefinition").length;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "capo-ops-init-"));
    kubeconfig = join(dir, "admin.kubeconfig");
    await writeFile(kubeconfig, testKubeConfig().exportConfig());
    client = new KubeClient(testKubeConfig());
  });

  afterAll(async () => {
    for (const path of [
      `/api/v1/namespaces/${target}`,
      "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/capo-manager-rolebinding",
      "/apis/rbac.authorization.k8s.io/v1/clusterroles/capo-manager-role",
    ]) {
      await client.request("DELETE", path).catch(() => undefined);
    }
    client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("installs CRDs, RBAC and the Deployment, waits for the CRDs and finds Cluster API", async () => {
    const r = await runCapo(["init", "--kubeconfig", kubeconfig, "--namespace", target, "--image", "example.test/capo:one"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines).toContain(`created    Namespace ${target}`);
    expect(lines).toContain("created    ClusterRole capo-manager-role");
    expect(lines).toContain("created    ClusterRoleBinding capo-manager-rolebinding");
    expect(lines).toContain(`created    ServiceAccount ${target}/capo-manager`);
    expect(lines).toContain(`created    Deployment ${target}/capo-controller-manager`);
    // The test environment installed the same CRDs already, for capo-system: only their conversion webhook (Service
    // namespace and CA injection source) is re-pointed at the target namespace.
    expect(lines).toContain("configured CustomResourceDefinition openstackclusters.infrastructure.cluster.x-k8s.io");
    expect(lines).toContain("configured CustomResourceDefinition openstackmachines.infrastructure.cluster.x-k8s.io");
    expect(r.stdout).toMatch(new RegExp(`capo installed in namespace ${target}: ${total - crds} created, ${crds} configured, 0 unchanged; CRDs Established`));
    const crd = await client.request<{ spec: { conversion: { webhook: { clientConfig: { service: { namespace: string } } } } } }>(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/openstackclusters.infrastructure.cluster.x-k8s.io",
    );
    expect(crd.spec.conversion.webhook.clientConfig.service.namespace).toBe(target);
    expect(r.stdout).toContain("Cluster API core CRDs found");

    const dep = await client.request<Deployment>("GET", `/apis/apps/v1/namespaces/${target}/deployments/capo-controller-manager`);
    expect(dep.spec.template.spec.containers.find((c) => c.name === "manager")?.image).toBe("example.test/capo:one");
    const binding = await client.request<{ subjects: { kind: string; name: string; namespace: string }[] }>(
      "GET",
      "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/capo-manager-rolebinding",
    );
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: dep.spec.template.spec.serviceAccountName, namespace: target }]);
  });

  it("is idempotent: a second run changes nothing and says so", async () => {
    const before = await client.request<{ metadata: { resourceVersion: string } }>("GET", `/apis/apps/v1/namespaces/${target}/deployments/capo-controller-manager`);
    const r = await runCapo(["init", "--kubeconfig", kubeconfig, "--namespace", target, "--image", "example.test/capo:one"]);
    expect(r.code).toBe(0);
    const objectLines = r.stdout.split("\n").filter((l) => /^(created|configured|unchanged) /.test(l));
    expect(objectLines).toHaveLength(total);
    for (const l of objectLines) expect(l).toMatch(/^unchanged /);
    expect(r.stdout).toContain(`0 created, 0 configured, ${total} unchanged`);
    const after = await client.request<{ metadata: { resourceVersion: string } }>("GET", `/apis/apps/v1/namespaces/${target}/deployments/capo-controller-manager`);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("--dry-run reports what would change and changes nothing", async () => {
    const r = await runCapo(["init", "--kubeconfig", kubeconfig, "--namespace", target, "--image", "example.test/capo:two", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toContain(`configured Deployment ${target}/capo-controller-manager`);
    expect(r.stdout).toContain(`dry run: the cluster accepted every object (0 created, 1 configured, ${total - 1} unchanged); nothing was changed`);
    const dep = await client.request<Deployment>("GET", `/apis/apps/v1/namespaces/${target}/deployments/capo-controller-manager`);
    expect(dep.spec.template.spec.containers[0]?.image).toBe("example.test/capo:one");
  });

  it("says so, without a stack trace, when the cluster cannot be reached", async () => {
    const kc = testKubeConfig();
    const bad = new KubeConfig();
    bad.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: "https://127.0.0.1:1" })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const file = join(dir, "unreachable.kubeconfig");
    await writeFile(file, bad.exportConfig());
    const r = await runCapo(["init", "--kubeconfig", file, "--namespace", target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: checking for Cluster API's CRDs: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); is the cluster running and is --kubeconfig right\?\n$/);
    expect(r.stdout).toBe("");
  });

  it("says so, without a stack trace, when the credentials lack permission", async () => {
    await client.request("POST", `/api/v1/namespaces/${ns.name}/serviceaccounts`, { body: { metadata: { name: "nobody" } } });
    const tr = await client.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns.name}/serviceaccounts/nobody/token`, {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } },
    });
    const kc = testKubeConfig();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("test kubeconfig has no cluster");
    const weak = new KubeConfig();
    weak.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "nobody", token: tr.status.token }],
      contexts: [{ name: "nobody", cluster: cluster.name, user: "nobody" }],
      currentContext: "nobody",
    });
    const file = join(dir, "nobody.kubeconfig");
    await writeFile(file, weak.exportConfig());
    const r = await runCapo(["init", "--kubeconfig", file, "--namespace", target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: checking for Cluster API's CRDs: permission denied \(403\): .*cannot get resource "customresourcedefinitions".*capo init needs cluster-admin\)\n$/);
  });
});
