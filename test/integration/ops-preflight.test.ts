import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveCloud } from "../../src/clouds/index.js";
import { compute, createSession } from "../../src/openstack/index.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { runCapo } from "./ops-cli.js";

/** An OpenSSH ed25519 public key line (random key material: the simulator checks the format only). */
function sshPublicKey(): string {
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(randomBytes(32))]).toString("base64")} capo-test`;
}

interface RequestCount {
  service: string;
  method: string;
  path: string;
  count: number;
}

describe("capo preflight against the OpenStack simulator", () => {
  let sim: RunningSimulator;
  let dir: string;
  let clouds: string;

  beforeAll(async () => {
    sim = await startTestSimulator({
      config: {
        quotas: { instances: 4 },
        images: [{ name: "ubuntu-24.04", minDisk: 10 }, { name: "half-uploaded", status: "queued" }],
      },
    });
    dir = await mkdtemp(join(tmpdir(), "capo-ops-preflight-"));
    clouds = join(dir, "clouds.yaml");
    await writeFile(clouds, sim.cloudsYaml("capo-sim"));
    const session = createSession(await resolveCloud({ file: clouds, cloud: "capo-sim" }));
    await compute(session).createKeypair({ name: "capo-key", public_key: sshPublicKey() });
    await session.close();
  });
  afterAll(async () => {
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const preflight = (extra: string[]) =>
    runCapo(["preflight", "--cloud", "capo-sim", "--file", clouds, "--control-plane-flavor", "m1.medium", "--worker-flavor", "m1.small", ...extra]);

  it("passes a configuration the cloud can host, and creates nothing", async () => {
    await admin(sim, "DELETE", "/requests");
    const r = await preflight(["--external-network", "public", "--image", "ubuntu-24.04", "--ssh-key", "capo-key", "--availability-zone", "nova", "--worker-count", "2"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("✓ authenticated to cloud capo-sim (region RegionOne)");
    expect(lines[1]).toMatch(/^✓ external network public \([0-9a-f-]{36}\)$/);
    expect(lines[2]).toMatch(/^✓ image ubuntu-24\.04 \([0-9a-f-]{36}\) is active$/);
    expect(lines.slice(3)).toEqual([
      "✓ control plane flavor m1.medium (2 vCPU, 4096 MB RAM, 40 GB disk)",
      "✓ worker flavor m1.small (1 vCPU, 2048 MB RAM, 20 GB disk)",
      "✓ SSH key pair capo-key",
      "✓ availability zone nova is available",
      "✓ quota instances: need 3, 4 free (0 of 4 used)",
      "✓ quota cores: need 4, 20 free (0 of 20 used)",
      "✓ quota RAM: need 8192 MB, 51200 MB free (0 of 51200 used)",
      "✓ quota networks: need 1, 100 free (0 of 100 used)",
      "✓ quota subnets: need 1, 100 free (0 of 100 used)",
      "✓ quota routers: need 1, 10 free (0 of 10 used)",
      "✓ quota ports: need 3, 500 free (0 of 500 used)",
      "✓ quota floating IPs: need 1, 50 free (0 of 50 used)",
      "✓ quota security groups: need 2, 10 free (0 of 10 used)",
      "all 16 checks passed; nothing was created in the cloud",
    ]);
    const { body } = await admin<{ counts: RequestCount[] }>(sim, "GET", "/requests");
    const writes = body.counts.filter((c) => c.method !== "GET" && !(c.service === "identity" && c.path.endsWith("/auth/tokens")));
    expect(writes).toEqual([]);
  });

  it("fails on a wrong image name and too little quota, with a fix for each, exit code 1", async () => {
    const r = await preflight(["--image", "ubuntu-22.04", "--control-plane-count", "3", "--worker-count", "2", "--ssh-key", "missing-key"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toContain("✗ image ubuntu-22.04: not found");
    expect(lines).toContain("    fix: upload it (openstack image create ...) or pass --image with one of: ubuntu-24.04");
    expect(lines).toContain("✗ SSH key pair missing-key: not found for this user");
    expect(lines).toContain("✗ quota instances: need 5, 4 free (0 of 4 used)");
    expect(lines).toContain(
      "    fix: free some up (delete unused servers), lower --control-plane-count/--worker-count or pick smaller flavors, or ask for a higher quota",
    );
    // With no --external-network, the cloud's only external network is used.
    expect(lines).toContainEqual(expect.stringMatching(/^✓ external network: discovered public \([0-9a-f-]{36}\), the only one$/));
    expect(lines).toContain("✓ quota cores: need 8, 20 free (0 of 20 used)");
    expect(lines.at(-1)).toBe("3 of 16 checks failed; nothing was created in the cloud");
  });

  it("fails on an image that is not active and on unknown names, suggesting what exists", async () => {
    const r = await preflight(["--image", "half-uploaded", "--external-network", "nope", "--availability-zone", "moon", "--worker-flavor", "m1.huge"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^✗ image half-uploaded: [0-9a-f-]{36} is queued, not active$/));
    expect(lines).toContain("✗ external network nope: not found");
    expect(lines).toContain("    fix: pass --external-network with one of: public");
    expect(lines).toContain("✗ worker flavor m1.huge: not found");
    expect(lines).toContain("✗ availability zone moon: not available");
    expect(lines).toContain("    fix: pass --availability-zone with one of: az2, nova");
    expect(lines).toContain("! quota cores and RAM: not checked, a flavor was not found");
  });

  it("stops after a failed login without showing the password", async () => {
    const bad = join(dir, "bad-clouds.yaml");
    await writeFile(bad, sim.cloudsYaml("capo-sim").replace(/password: demo/, "password: s3cret-wrong"));
    const r = await runCapo(["preflight", "--cloud", "capo-sim", "--file", bad, "--image", "x", "--control-plane-flavor", "x", "--worker-flavor", "x"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^✗ authenticate to cloud capo-sim: .*401/);
    expect(lines[1]).toBe(`    fix: check auth_url, user, password/application credential and project of "capo-sim" in ${bad}`);
    expect(lines).toHaveLength(3);
    expect(r.stdout + r.stderr).not.toContain("s3cret-wrong");
  });
});
