import { describe, expect, it } from "vitest";
import { CAPI_INSTALL_HINT, renderInitReport } from "../../src/ops/init.js";
import { renderChecklist } from "../../src/ops/preflight.js";

describe("capo init report", () => {
  it("tells how to install Cluster API when its CRDs are missing", () => {
    const text = renderInitReport(
      { applied: [{ object: "Namespace capo-system", result: "created" }], missingCapiCrds: ["clusters.cluster.x-k8s.io"], dryRun: false },
      { namespace: "capo-system" },
    );
    expect(text).toBe(
      "created    Namespace capo-system\n" +
        "capo installed in namespace capo-system: 1 created, 0 configured, 0 unchanged; CRDs Established\n" +
        "warning: Cluster API core is not installed (missing CRDs: clusters.cluster.x-k8s.io). " +
        "Install it with: clusterctl init --core cluster-api --bootstrap kubeadm --control-plane kubeadm\n",
    );
    expect(CAPI_INSTALL_HINT).toBe("clusterctl init --core cluster-api --bootstrap kubeadm --control-plane kubeadm");
  });
});

describe("capo preflight checklist", () => {
  it("marks passes, failures with their fix, and warnings, and counts failures", () => {
    const text = renderChecklist([
      { status: "pass", title: "image x is active" },
      { status: "fail", title: "quota instances: need 5, 4 free (0 of 4 used)", fix: "ask for more" },
      { status: "warn", title: "network quotas: not checked" },
    ]);
    expect(text).toBe(
      "✓ image x is active\n" +
        "✗ quota instances: need 5, 4 free (0 of 4 used)\n" +
        "    fix: ask for more\n" +
        "! network quotas: not checked\n" +
        "1 of 3 checks failed; nothing was created in the cloud\n",
    );
  });

  it("says all passed, noting what could not be checked", () => {
    expect(renderChecklist([{ status: "pass", title: "a" }, { status: "warn", title: "b" }])).toBe(
      "✓ a\n! b\nall 1 checks passed (1 not checked); nothing was created in the cloud\n",
    );
  });
});
