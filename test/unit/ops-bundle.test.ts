import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildBundle, writeBundle, type BundleFile } from "../../src/ops/bundle.js";
import { parseManifests, providerComponents, type ManifestObject } from "../../src/ops/components.js";
import { UserError } from "../../src/util/errors.js";

const PROVIDER_LABEL = "cluster.x-k8s.io/provider";

function file(files: BundleFile[], name: string): string {
  const f = files.find((x) => x.name === name);
  if (!f) throw new Error(`bundle has no ${name}; it has ${files.map((x) => x.name).join(", ")}`);
  return f.text;
}

function containersOf(o: ManifestObject): { name: string; image?: string }[] {
  return (o["spec"] as { template: { spec: { containers: { name: string; image?: string }[] } } }).template.spec.containers;
}

describe("capo bundle: clusterctl provider bundle", () => {
  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it("metadata.yaml is clusterctl's Metadata, mapping our release series to contract v1beta2", async () => {
    const meta = parseYaml(file(await buildBundle({ version: "v0.1.3" }), "metadata.yaml")) as Record<string, unknown>;
    expect(meta["apiVersion"]).toBe("clusterctl.cluster.x-k8s.io/v1alpha3");
    expect(meta["kind"]).toBe("Metadata");
    expect(meta["releaseSeries"]).toContainEqual({ major: 0, minor: 1, contract: "v1beta2" });
  });

  it("infrastructure-components.yaml: one Namespace, every object labelled, namespaced objects in it, manager container", async () => {
    const objects = parseManifests(file(await buildBundle(), "infrastructure-components.yaml"), "components");
    const kinds = objects.map((o) => o.kind);
    expect(kinds.filter((k) => k === "Namespace")).toHaveLength(1);
    expect(kinds[0]).toBe("Namespace");
    expect(kinds).toEqual(expect.arrayContaining(["CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Deployment"]));
    for (const o of objects) {
      expect(o.metadata.labels?.[PROVIDER_LABEL], `${o.kind} ${o.metadata.name}`).toBe("infrastructure-openstack");
    }
    const ns = objects[0]?.metadata.name;
    for (const o of objects.filter((x) => ["ServiceAccount", "Deployment", "Role", "RoleBinding"].includes(x.kind))) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(ns);
    }
    const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "openstackclusters.infrastructure.cluster.x-k8s.io",
      "openstackclustertemplates.infrastructure.cluster.x-k8s.io",
      "openstackmachines.infrastructure.cluster.x-k8s.io",
      "openstackmachinetemplates.infrastructure.cluster.x-k8s.io",
    ]);
    for (const c of crds) expect(c.metadata.labels?.["cluster.x-k8s.io/v1beta2"]).toBe("v1beta2");
    const deployments = objects.filter((o) => o.kind === "Deployment");
    expect(deployments).toHaveLength(1);
    const manager = containersOf(deployments[0] as ManifestObject).find((c) => c.name === "manager");
    expect(manager?.image).toBe("ghcr.io/capo-ts/capo:v0.1.0");
    const binding = objects.find((o) => o.kind === "ClusterRoleBinding") as ManifestObject;
    expect((binding["subjects"] as { namespace?: string }[])[0]?.namespace).toBe(ns);
  });

  it("the components need no clusterctl variables; the templates keep theirs", async () => {
    const files = await buildBundle({ version: "v0.1.0", image: "registry.example/capo:custom" });
    const components = file(files, "infrastructure-components.yaml");
    expect(components).not.toContain("${");
    expect(components).toContain("image: registry.example/capo:custom");
    const templates = files.filter((f) => /^cluster-template.*\.yaml$/.test(f.name)).map((f) => f.name);
    expect(templates).toEqual(expect.arrayContaining(["cluster-template.yaml", "cluster-template-without-lb.yaml"]));
    const repoTemplate = await readFile(join(import.meta.dirname, "..", "..", "templates", "cluster-template.yaml"), "utf8");
    expect(file(files, "cluster-template.yaml")).toBe(repoTemplate);
    expect(repoTemplate).toContain("${CLUSTER_NAME}");
  });

  it("config/metadata.yaml covers the package's own version (a minor bump needs a new release series)", async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string };
    await expect(buildBundle({ version: `v${pkg.version}` })).resolves.toContainEqual(expect.objectContaining({ name: "metadata.yaml" }));
  });

  it("rejects a version that is not semver or has no release series, naming the flag and the fix", async () => {
    await expect(buildBundle({ version: "0.1.0" })).rejects.toThrow(UserError);
    await expect(buildBundle({ version: "0.1.0" })).rejects.toThrow(/--version 0\.1\.0: not a semantic version/);
    await expect(buildBundle({ version: "v0.7.0" })).rejects.toThrow(/no releaseSeries entry for 0\.7.*major: 0, minor: 7, contract: v1beta2/);
  });

  it("writes every file into the output directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "capo-bundle-"));
    tmp.push(dir);
    const out = join(dir, "infrastructure-openstack", "v0.1.0");
    const written = await writeBundle(out);
    expect((await readdir(out)).sort()).toEqual(written.map((p) => p.slice(out.length + 1)).sort());
    const templates = (await readdir(join(import.meta.dirname, "..", "..", "templates"))).filter((n) => /^cluster-template.*\.yaml$/.test(n));
    expect(templates).toContain("cluster-template-without-lb.yaml");
    expect((await readdir(out)).sort()).toEqual(["infrastructure-components.yaml", "metadata.yaml", ...templates].sort());
  });
});

describe("providerComponents (what capo init applies)", () => {
  it("re-homes namespaced objects and ServiceAccount subjects into the chosen namespace and sets the image", () => {
    const objects = providerComponents({ namespace: "ops-elsewhere", image: "example/capo:1" });
    expect(objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name)).toEqual(["ops-elsewhere"]);
    for (const o of objects) {
      if (["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) {
        expect(o.metadata.namespace).toBeUndefined();
      } else {
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe("ops-elsewhere");
      }
    }
    const binding = objects.find((o) => o.kind === "ClusterRoleBinding") as ManifestObject;
    expect(binding["subjects"]).toEqual([expect.objectContaining({ kind: "ServiceAccount", namespace: "ops-elsewhere" })]);
    const dep = objects.find((o) => o.kind === "Deployment") as ManifestObject;
    expect(containersOf(dep).find((c) => c.name === "manager")?.image).toBe("example/capo:1");
    // CRDs come right after the Namespace, before anything that could depend on them.
    const order = objects.map((o) => o.kind);
    expect(order.lastIndexOf("CustomResourceDefinition")).toBeLessThan(order.indexOf("Deployment"));
  });
});
