import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bringUp } from "../openstack/refcloud.js";

// The real-OpenStack tier must fail loudly, naming the service that did not come up with its log tail. Here up.sh is a
// stand-in that fails the way the real one does when Glance never answers, with a state dir of our own.
describe("real-OpenStack tier: a cloud that does not come up", () => {
  const dir = mkdtempSync(join(tmpdir(), "refcloud-diag-"));
  const saved = { scripts: process.env["CAPO_REAL_OPENSTACK_DIR"], state: process.env["CAPO_REFCLOUD_DIR"] };

  beforeAll(() => {
    const scripts = join(dir, "scripts");
    const state = join(dir, "state");
    mkdirSync(scripts);
    mkdirSync(join(state, "run"), { recursive: true });
    mkdirSync(join(state, "log"));
    writeFileSync(join(scripts, "up.sh"), '#!/usr/bin/env bash\necho keystone up\necho "no answer from http://127.0.0.1:9292/"\nexit 1\n');
    chmodSync(join(scripts, "up.sh"), 0o755);
    // A pid that cannot be alive, and the log glance left.
    writeFileSync(join(state, "run", "glance.pid"), "999999999\n");
    writeFileSync(join(state, "log", "glance-api.log"), "starting\nERROR glance.common.wsgi: could not bind to 127.0.0.1:9292: Address already in use\n");
    process.env["CAPO_REAL_OPENSTACK_DIR"] = scripts;
    process.env["CAPO_REFCLOUD_DIR"] = state;
  });

  afterAll(() => {
    for (const [k, v] of [["CAPO_REAL_OPENSTACK_DIR", saved.scripts], ["CAPO_REFCLOUD_DIR", saved.state]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails with up.sh's exit code, the service that is down, its log tail and up.sh's last lines", async () => {
    const err = await bringUp(join(dir, "up.log")).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const msg = err?.message ?? "";
    expect(msg).toContain("up.sh exit code 1");
    expect(msg).toContain("glance: process of $R/run/glance.pid not running");
    expect(msg).toContain("could not bind to 127.0.0.1:9292: Address already in use");
    expect(msg).toContain("no answer from http://127.0.0.1:9292/");
  });
});
