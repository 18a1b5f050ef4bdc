import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildBundle } from "../../src/ops/bundle.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

describe("capo bundle: infrastructure-components.yaml on the real kube-apiserver", () => {
  const ns = useTestNamespace("ops-bundle");

  it("passes a server-side dry-run apply once clusterctl has set the target namespace", async () => {
    const files = await buildBundle({ version: "v0.1.0" });
    const text = files.find((f) => f.name === "infrastructure-components.yaml")?.text ?? "";
    // What clusterctl does on install: the Namespace object and every namespace field become the target namespace.
    // The test namespace exists already, so drop the Namespace document and re-home the rest.
    // cert-manager's kinds (the webhook's Issuer and Certificate) need cert-manager, which clusterctl installs first
    // and this apiserver does not have.
    const all = parseAllDocuments(text).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { namespace?: string } });
    expect(all.filter((o) => o.apiVersion === "cert-manager.io/v1").map((o) => o.kind)).toEqual(["Issuer", "Certificate"]);
    const docs = all.filter((o) => o.kind !== "Namespace" && o.apiVersion !== "cert-manager.io/v1");
    const rehomed = docs.map((o) => JSON.stringify(o).replaceAll('"namespace":"capo-system"', `"namespace":"${ns.name}"`)).join("\n---\n");
    const applied = (await applyManifests(testKubeConfig(), rehomed, { dryRun: true })) as { kind: string; metadata: { name: string } }[];
    expect(applied.map((o) => o.kind)).toEqual(docs.map((o) => o.kind));
    expect(applied.find((o) => o.kind === "Deployment")?.metadata.name).toBe("capo-controller-manager");
  });
});
