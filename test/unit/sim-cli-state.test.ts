import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerSim } from "../../src/cli/commands/sim.js";
import { UserError } from "../../src/util/errors.js";
import { SimSession, startTestSimulator } from "../helpers/sim.js";

// `capo sim` as a command, the world config file, and --state persistence across a restart.

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "capo-sim-cli-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `capo sim ...` in-process until `stop()` sends SIGTERM to it alone. */
async function runSim(args: string[]): Promise<{ out: () => string; stop: () => Promise<void>; done: Promise<void> }> {
  const program = new Command("capo").exitOverride();
  registerSim(program);
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  // Only our handler may see the synthetic signal: park the others (the test runner's) for the duration.
  const others = process.listeners("SIGTERM");
  for (const l of others) process.off("SIGTERM", l);
  const done = program.parseAsync(["node", "capo", "sim", ...args]).then(() => undefined).finally(() => {
    spy.mockRestore();
    for (const l of others) process.on("SIGTERM", l);
  });
  return {
    out: () => out,
    done,
    stop: async () => {
      process.emit("SIGTERM", "SIGTERM");
      await done;
    },
  };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("capo sim", () => {
  it("prints the URLs, writes clouds.yaml, serves the config's world and stops cleanly on SIGTERM", async () => {
    const clouds = join(dir, "clouds.yaml");
    const config = join(dir, "world.yaml");
    await writeFile(
      config,
      [
        "projects: [{name: admin}, {name: team}]",
        "users: [{name: alice, password: wonderland, projects: [team]}]",
        "flavors: [{name: big, vcpus: 8, ram: 16384, disk: 200}]",
        "availabilityZones: [zone-a]",
      ].join("\n"),
    );
    const run = await runSim(["--port", "0", "--config", config, "--clouds-yaml", clouds, "--build-delay", "10"]);
    await until(() => run.out().includes("stop with Ctrl-C"), "startup");
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.out())?.[1] as string;
    expect(url).toBeTruthy();
    expect(run.out()).toContain(`auth URL: ${url}/identity/v3`);
    const doc = parseYaml(await readFile(clouds, "utf8")) as { clouds: Record<string, { auth: Record<string, string>; region_name: string }> };
    expect(doc.clouds["capo-sim"]?.auth).toMatchObject({ auth_url: `${url}/identity/v3`, username: "alice", password: "wonderland", project_name: "team" });
    const sim = { url, authUrl: `${url}/identity/v3`, adminUrl: `${url}/_sim`, cloudsYaml: () => "", close: async () => {} };
    const s = await SimSession.login(sim, { username: "alice", password: "wonderland", project: "team" });
    const flavors = await s.call<{ flavors: { name: string }[] }>("GET", "/compute/v2.1/flavors");
    expect(flavors.body.flavors.map((f) => f.name)).toEqual(["big"]);
    const azs = await s.call<{ availabilityZoneInfo: { zoneName: string }[] }>("GET", "/compute/v2.1/os-availability-zone");
    expect(azs.body.availabilityZoneInfo.map((z) => z.zoneName)).toEqual(["zone-a"]);
    await run.stop();
    expect(run.out()).toContain("capo sim: stopped");
    await expect(fetch(`${url}/identity/v3`)).rejects.toThrow();
  });

  it("--profile full gives the trunk and tag-creation extensions; an unknown profile is named", async () => {
    const run = await runSim(["--port", "0", "--profile", "full"]);
    await until(() => run.out().includes("stop with Ctrl-C"), "startup");
    expect(run.out()).toContain("profile: full");
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.out())?.[1] as string;
    const sim = { url, authUrl: `${url}/identity/v3`, adminUrl: `${url}/_sim`, cloudsYaml: () => "", close: async () => {} };
    const s = await SimSession.login(sim);
    for (const alias of ["trunk", "tag-creation"]) expect((await s.call("GET", `/networking/v2.0/extensions/${alias}`)).status).toBe(200);
    await run.stop();
    const bad = await runSim(["--profile", "ussuri"]);
    await expect(bad.done).rejects.toThrow("--profile ussuri: unknown profile; known profiles are zed, full");
  });

  it("names the flag or file at fault", async () => {
    const bad = await runSim(["--port", "abc"]);
    await expect(bad.done).rejects.toThrow(UserError);
    await expect(bad.done).rejects.toThrow("--port abc");
    const config = join(dir, "broken.yaml");
    await writeFile(config, "flavours: []\n");
    const unknown = await runSim(["--config", config]);
    await expect(unknown.done).rejects.toThrow(`--config ${config}: unknown key "flavours"`);
    const missing = await runSim(["--config", join(dir, "nope.yaml")]);
    await expect(missing.done).rejects.toThrow("cannot read the file");
  });
});

describe("--state persistence", () => {
  it("keeps the world across a restart", async () => {
    const statePath = join(dir, "state.json");
    const config = { applicationCredentials: [{ name: "ac", secret: "s3cr3t-value-not-in-files", user: "demo", project: "demo" }] };
    const first = await startTestSimulator({ statePath, config });
    const s1 = await SimSession.login(first);
    const net = (await s1.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "kept" } })).body.network.id;
    const kp = await s1.call("POST", "/compute/v2.1/os-keypairs", { keypair: { name: "k", public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx6c2wYlqAAJPEpbHXn3wSXwL9Oql1kqS5Rct3Bl0B1 cap" } });
    expect(kp.status).toBe(200);
    await first.close();
    const saved = await readFile(statePath, "utf8");
    // Secrets are stored hashed, never in clear.
    expect(saved).not.toContain("s3cr3t-value-not-in-files");
    expect(saved).not.toMatch(/"password":/);
    const second = await startTestSimulator({ statePath, config });
    try {
      const s2 = await SimSession.login(second);
      expect(s2.projectId).toBe(s1.projectId);
      const got = await s2.call<{ network: { name: string } }>("GET", `/networking/v2.0/networks/${net}`);
      expect(got.body.network.name).toBe("kept");
      expect((await s2.call("GET", "/compute/v2.1/os-keypairs/k")).status).toBe(200);
      // The old token survives too: a restart is not a logout.
      const reuse = new SimSession(second);
      reuse.token = s1.token;
      expect((await reuse.call("GET", `/networking/v2.0/networks/${net}`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it("rejects a file that is not a state file", async () => {
    const statePath = join(dir, "garbage.json");
    await writeFile(statePath, "{\"hello\": 1}");
    await expect(startTestSimulator({ statePath })).rejects.toThrow("not a simulator state file");
  });
});
