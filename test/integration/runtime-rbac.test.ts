import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapiTypes, CoreTypes, Manager, Metrics, defineController, removeFinalizer, type ResourceType } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { IDENTITY_SECRET_LABEL, IDENTITY_SECRET_SELECTOR } from "../../src/controllers/credentials.js";
import { CREDENTIALS_FINALIZER, protectCredentials } from "../../src/controllers/credentials-finalizer.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ROOT = join(import.meta.dirname, "..", "..");
const INFRA = "infrastructure.cluster.x-k8s.io";
const osc: ResourceType = { group: INFRA, version: "v1beta2", plural: "openstackclusters", kind: "OpenStackCluster" };
const osm: ResourceType = { group: INFRA, version: "v1beta2", plural: "openstackmachines", kind: "OpenStackMachine" };

describe("config/rbac/role.yaml grants what the manager uses (real apiserver, RBAC authorizer)", () => {
  const ns = useTestNamespace("rt-rbac");
  const suffix = Math.random().toString(16).slice(2, 8);
  let admin: KubeClient;
  let saKubeConfig: KubeConfig;
  const user = () => `system:serviceaccount:${ns.name}:capo-manager`;

  beforeAll(async () => {
    const kc = testKubeConfig();
    admin = new KubeClient(kc);
    // The role and binding as shipped, renamed per run and bound to a ServiceAccount in the test namespace.
    const docs = parseAllDocuments(readFileSync(join(ROOT, "config", "rbac", "role.yaml"), "utf8")).map(
      (d) => d.toJS() as KubernetesObject & { subjects?: { namespace?: string }[]; roleRef?: { name: string } },
    );
    for (const d of docs) {
      if (d.kind === "ClusterRole" || d.kind === "ClusterRoleBinding") d.metadata!.name = `${d.metadata!.name}-${suffix}`;
      if (d.kind === "ClusterRoleBinding") {
        d.roleRef!.name = `capo-manager-role-${suffix}`;
        for (const s of d.subjects ?? []) s.namespace = ns.name;
      }
      if (d.kind === "ServiceAccount" || d.kind === "Role") d.metadata!.namespace = ns.name;
      if (d.kind === "RoleBinding") {
        d.metadata!.namespace = ns.name;
        for (const s of d.subjects ?? []) s.namespace = ns.name;
      }
    }
    await applyManifests(kc, docs.map((d) => JSON.stringify(d)).join("\n---\n"), { namespace: ns.name });
    const tr = await admin.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${ns.name}/serviceaccounts/capo-manager/token`,
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } } },
    );
    const cluster = kc.getCurrentCluster()!;
    saKubeConfig = new KubeConfig();
    saKubeConfig.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "sa", token: tr.status.token }],
      contexts: [{ name: "sa", cluster: cluster.name, user: "sa" }],
      currentContext: "sa",
    });
  });

  afterAll(async () => {
    for (const [plural, name] of [
      ["clusterrolebindings", `capo-manager-rolebinding-${suffix}`],
      ["clusterroles", `capo-manager-role-${suffix}`],
    ] as const) {
      await admin.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/${plural}/${name}`).catch(() => undefined);
    }
    admin?.close();
  });

  async function allowed(verb: string, group: string, resource: string, subresource = "", namespace = ns.name, name = ""): Promise<boolean> {
    const r = await admin.request<{ status: { allowed: boolean } }>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: user(), resourceAttributes: { namespace, verb, group, resource, subresource, name } },
      },
    });
    return r.status.allowed;
  }

  it("allows exactly the verbs the controllers need", async () => {
    const need: [string, string, string, string?][] = [
      ["watch", INFRA, "openstackclusters"],
      ["patch", INFRA, "openstackclusters"],
      ["patch", INFRA, "openstackclusters", "status"],
      ["patch", INFRA, "openstackmachines", "status"],
      ["list", "cluster.x-k8s.io", "clusters"],
      ["watch", "cluster.x-k8s.io", "machines"],
      ["get", "", "secrets"],
      ["patch", "", "secrets"],
      ["create", "", "events"],
      ["patch", "", "events"],
      ["update", "coordination.k8s.io", "leases"],
    ];
    for (const [verb, group, resource, sub] of need) expect(await allowed(verb, group, resource, sub), `${verb} ${group}/${resource}`).toBe(true);
    // The conversion webhook: its self-managed certificate Secret in its own namespace, and our CRDs' caBundle.
    expect(await allowed("create", "", "secrets")).toBe(true);
    expect(await allowed("patch", "apiextensions.k8s.io", "customresourcedefinitions", "", "", `openstackclusters.${INFRA}`)).toBe(true);
    // Least privilege: Secrets elsewhere only patched (the identity-in-use finalizer), never created or deleted; no
    // other CRDs, no writes to CAPI core objects, nothing unrelated.
    expect(await allowed("create", "", "secrets", "", "default")).toBe(false);
    expect(await allowed("delete", "", "secrets", "", "default")).toBe(false);
    expect(await allowed("patch", "apiextensions.k8s.io", "customresourcedefinitions", "", "", "clusters.cluster.x-k8s.io")).toBe(false);
    expect(await allowed("patch", "cluster.x-k8s.io", "machines")).toBe(false);
    expect(await allowed("list", "", "configmaps")).toBe(false);
    expect(await allowed("get", "cluster.x-k8s.io", "machines", "status")).toBe(false);
    expect(await allowed("list", INFRA, "openstackmachinetemplates")).toBe(false);
  });

  it("lets a manager running as the ServiceAccount sync its caches, lead, and record Events", async () => {
    const manager = new Manager({
      kubeConfig: saKubeConfig,
      log: pino({ level: "silent" }),
      namespace: ns.name,
      metrics: new Metrics(),
      leaderElection: { namespace: ns.name, name: "rbac-test", retryPeriodMs: 200 },
    });
    const seen: string[] = [];
    manager.add(
      defineController({
        name: "rbac-probe",
        primary: osc,
        secondaries: [
          { gvk: CapiTypes.cluster, mapToPrimaryKeys: () => [] },
          // As the controllers do: only identity Secrets, by label.
          { gvk: CoreTypes.secret, labelSelector: IDENTITY_SECRET_SELECTOR, mapToPrimaryKeys: (s) => [`${ns.name}/${s.metadata?.name}`] },
          { gvk: osm, mapToPrimaryKeys: () => [] },
          { gvk: CapiTypes.machine, mapToPrimaryKeys: () => [] },
        ],
        reconcile: async (key) => {
          seen.push(key);
        },
      }),
    );
    try {
      await manager.start();
      expect(manager.cachesSynced).toBe(true);
      const t0 = Date.now();
      while (!manager.isLeader && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      expect(manager.isLeader).toBe(true);
      // An identity Secret reaches the controller through the watch the role allows; other Secrets never do.
      await admin.create(CoreTypes.secret, { apiVersion: "v1", kind: "Secret", metadata: { name: "bootstrap", namespace: ns.name } });
      await admin.create(CoreTypes.secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "cloud", namespace: ns.name, labels: { [IDENTITY_SECRET_LABEL]: "true" } },
      });
      while (seen.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([`${ns.name}/cloud`]);
      expect(manager.cache.list(CoreTypes.secret).map((s) => s.metadata?.name)).toEqual(["cloud"]);
      const secret = await admin.get(CoreTypes.secret, ns.name, "cloud");
      await manager.events.event({ ...secret, apiVersion: "v1", kind: "Secret" }, "Normal", "RbacProbe", "events allowed");
      await manager.events.flush();
      const evs = await admin.list<KubernetesObject & { reason?: string }>(CoreTypes.event, { namespace: ns.name });
      expect(evs.items.some((e) => e.reason === "RbacProbe")).toBe(true);
      // The identity-in-use finalizer is added and removed with the ServiceAccount's rights.
      await protectCredentials(manager.client, ns.name, "cloud");
      const kept = await admin.get(CoreTypes.secret, ns.name, "cloud");
      expect(kept.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);
      await removeFinalizer(manager.client, CoreTypes.secret, kept, CREDENTIALS_FINALIZER);
      expect((await admin.get(CoreTypes.secret, ns.name, "cloud")).metadata?.finalizers ?? []).toEqual([]);
    } finally {
      await manager.stop();
    }
  });

  it("config/manager/manager.yaml passes server-side validation (dry run) with the manager container and provider label", async () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, "config", "manager", "manager.yaml"), "utf8")).map(
      (d) => d.toJS() as KubernetesObject & { spec?: { template?: { spec?: { containers?: { name: string }[] } } } },
    );
    for (const d of docs) {
      expect(d.metadata?.labels?.["cluster.x-k8s.io/provider"]).toBe("infrastructure-openstack");
      if (d.kind !== "Namespace") d.metadata!.namespace = ns.name;
    }
    const deployment = docs.find((d) => d.kind === "Deployment");
    expect(deployment?.spec?.template?.spec?.containers?.map((c) => c.name)).toEqual(["manager"]);
    const applied = await applyManifests(testKubeConfig(), docs.map((d) => JSON.stringify(d)).join("\n---\n"), {
      namespace: ns.name,
      dryRun: true,
    });
    // Namespace, Deployment, and the conversion webhook's Service.
    expect(applied.map((o) => (o as KubernetesObject).kind)).toEqual(["Namespace", "Deployment", "Service"]);
  });
});
