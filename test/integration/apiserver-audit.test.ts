import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countAuditRequests, readAuditLog, renderAuditSummary } from "../../bench/apiserver-audit.js";
import { KubeClient } from "../../src/runtime/index.js";
import { startControlPlane, type ControlPlane } from "../../src/testenv/index.js";

/** The audit log `bench:upstream --diagnose` reads, written by a real kube-apiserver and counted per client. */
describe("startControlPlane's audit log, counted by the upstream benchmark", () => {
  const dir = mkdtempSync(join(tmpdir(), "capo-audit-test-"));
  const auditLogPath = join(dir, "audit.log");
  let cp: ControlPlane;
  let probe: KubeClient;

  beforeAll(async () => {
    cp = await startControlPlane({ auditLogPath });
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    probe = new KubeClient(kc, { userAgent: "audit-probe/v1 (test)" });
  });
  afterAll(async () => {
    probe?.close();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const countsOf = (since: number) => countAuditRequests(readAuditLog(auditLogPath), since).filter((c) => c.client === "audit-probe");

  it("counts each list once and a watch once while it is still open, and nothing received before `since`", async () => {
    await probe.request("GET", "/api/v1/namespaces");
    const since = Date.now() + 1000; // the audit timestamps have microseconds; a second apart is unambiguous
    await new Promise((r) => setTimeout(r, since - Date.now() + 10));
    for (let i = 0; i < 3; i++) await probe.request("GET", "/api/v1/namespaces");
    const watch = await probe.stream("/api/v1/namespaces", { watch: "true" }, () => undefined);
    const deadline = Date.now() + 15_000;
    let rows = countsOf(since);
    while (!rows.some((r) => r.verb === "watch") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      rows = countsOf(since);
    }
    watch.abort();
    await watch.done;
    expect(rows.map((r) => `${r.verb} ${r.resource} ${r.count}`).sort()).toEqual(["list namespaces 3", "watch namespaces 1"]);

    const summary = renderAuditSummary(countAuditRequests(readAuditLog(auditLogPath), since), 5).join("\n");
    expect(summary).toMatch(/^\s+4 {2}audit-probe$/m);
    expect(summary).toMatch(/^\s+3 {2}audit-probe list namespaces$/m);
  });
});
