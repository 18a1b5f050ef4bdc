import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { generatedFiles, staleFiles } from "../../src/api/gen/main.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("generated CRDs and docs", () => {
  it("are committed exactly as the generator writes them (run `npm run gen` after changing src/api)", async () => {
    expect(await staleFiles(root)).toEqual([]);
  });

  it("produce structural CRDs with the CAPI contract labels, short names and status subresource", () => {
    const files = generatedFiles();
    const crd = parse(files.get("config/crd/infrastructure.cluster.x-k8s.io_openstackmachines.yaml")!) as {
      metadata: { labels: Record<string, string> };
      spec: { names: { shortNames: string[] }; versions: { name: string; subresources: unknown; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    expect(crd.metadata.labels).toEqual({
      "cluster.x-k8s.io/v1beta2": "v1beta2",
      "cluster.x-k8s.io/provider": "infrastructure-openstack",
    });
    expect(crd.spec.names.shortNames).toEqual(["osm"]);
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    expect(crd.spec.versions.map((v) => v.name)).toEqual(["v1beta2", "v1beta1"]);
    const text = JSON.stringify(crd.spec.versions[0]!.schema.openAPIV3Schema);
    expect(text).not.toContain('"additionalProperties":false');
    expect(text).toContain("has(self.id) != has(self.filter)");
    expect(files.get("docs/api.md")).toContain("| `spec.flavor.filter.name` |");
  });
});
