import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FLAVORS, generateCluster } from "../../src/manifests/generate/index.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ns = useTestNamespace("generate");
const dir = mkdtempSync(path.join(tmpdir(), "capo-generate-it-"));
const cloudsFile = path.join(dir, "clouds.yaml");
writeFileSync(
  cloudsFile,
  "clouds:\n  mycloud_default:\n    auth:\n      auth_url: https://test1.mycloud.com:5000\n      username: u\n      password: p\n      project_name: dev2\n      user_domain_name: D\n      project_domain_name: D\n    region_name: Kna1\n",
);

describe("capo generate cluster output on a real kube-apiserver", () => {
  for (const flavor of FLAVORS) {
    it(`flavor ${flavor} passes a server-side dry-run apply, nothing pruned`, async () => {
      const { objects, yaml } = await generateCluster({
        clusterName: `gen-${flavor}`,
        namespace: ns.name,
        flavor,
        kubernetesVersion: "v1.31.4",
        cloudsFile,
        externalNetwork: flavor === "default" ? "375af7fe-a2c1-4c26-a57d-6d33175a6650" : "public",
        image: "ubuntu-24.04",
        controlPlaneFlavor: "m1.medium",
        workerFlavor: "m1.small",
        sshKeyName: "capo-key",
        dnsServers: ["8.8.8.8", "1.1.1.1"],
        failureDomain: "nova",
        env: {},
        cwd: dir,
      });
      const applied = (await applyManifests(testKubeConfig(), yaml, { namespace: ns.name, dryRun: true })) as {
        kind: string;
        metadata: { namespace: string };
        spec?: object;
      }[];
      expect(applied.map((o) => o.kind)).toEqual(objects.map((o) => o.kind));
      applied.forEach((o, i) => {
        expect(o.metadata.namespace).toBe(ns.name);
        const sent = objects[i] as { spec?: object };
        if (sent.spec) expect(o.spec).toMatchObject(sent.spec);
      });
    });
  }
});
