import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { UserError, errorMessage } from "../../util/errors.js";
import type { SimConfig } from "../../sim/index.js";
import { DEFAULT_PROFILE, isProfileName, profileNames } from "../../sim/profiles.js";

interface SimOptions {
  port: string;
  config?: string;
  state?: string;
  cloudsYaml?: string;
  buildDelay?: string;
  latency?: string;
  profile?: string;
}

function nonNegativeInt(flag: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > max) throw new UserError(`${flag} ${v}: must be a whole number from 0 to ${max}`);
  return Number(v);
}

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("Run the OpenStack simulator (Keystone, Nova, Neutron, Glance, Octavia, Cinder) on 127.0.0.1")
    .option("--port <n>", "port to listen on (0 picks a free one)", "0")
    .option("--config <file>", "world config (YAML or JSON): projects, users, application credentials, flavors, images, networks, AZs, quotas")
    .option("--state <file>", "keep the world in this file, so a restart continues where it stopped")
    .option("--clouds-yaml <file>", "write a clouds.yaml with cloud `capo-sim` pointing at the simulator")
    .option("--build-delay <ms>", "time a server stays in BUILD (and a load balancer in PENDING_CREATE)")
    .option("--latency <ms>", "added latency on every service call")
    .option("--profile <name>", `optional features of the simulated cloud: ${profileNames().join(" or ")} (default ${DEFAULT_PROFILE}; see docs/sim.md)`)
    .action(async (opts: SimOptions) => {
      const port = nonNegativeInt("--port", opts.port, 65535) ?? 0;
      const buildDelay = nonNegativeInt("--build-delay", opts.buildDelay, 3_600_000);
      const latency = nonNegativeInt("--latency", opts.latency, 600_000);
      const { loadSimConfigFile, startSimulator } = await import("../../sim/index.js");
      const config: SimConfig = opts.config ? await loadSimConfigFile(opts.config) : {};
      if (buildDelay !== undefined) config.timing = { ...config.timing, buildDelayMs: buildDelay };
      if (opts.profile !== undefined) {
        if (!isProfileName(opts.profile)) throw new UserError(`--profile ${opts.profile}: unknown profile; known profiles are ${profileNames().join(", ")}`);
        config.profile = opts.profile;
      }
      let sim;
      try {
        sim = await startSimulator({
          port,
          config,
          ...(opts.state ? { statePath: opts.state } : {}),
          ...(latency ? { faults: { latencyMs: { "*": latency } } } : {}),
        });
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`cannot start the simulator on 127.0.0.1:${port}: ${errorMessage(e)}`);
      }
      if (opts.cloudsYaml) {
        try {
          await writeFile(opts.cloudsYaml, sim.cloudsYaml("capo-sim"), { mode: 0o600 });
        } catch (e) {
          await sim.close();
          throw new UserError(`--clouds-yaml ${opts.cloudsYaml}: cannot write the file (${errorMessage(e)})`);
        }
      }
      process.stdout.write(`capo sim: OpenStack simulator listening on ${sim.url}\n`);
      process.stdout.write(`profile: ${config.profile ?? DEFAULT_PROFILE}${config.neutronExtensions ? " (Neutron extensions from the config)" : ""}\n`);
      process.stdout.write(`auth URL: ${sim.authUrl}\n`);
      process.stdout.write(`admin API: ${sim.adminUrl}\n`);
      if (opts.cloudsYaml) process.stdout.write(`clouds.yaml: ${opts.cloudsYaml} (cloud capo-sim)\n`);
      if (opts.state) process.stdout.write(`state: ${opts.state} (saved on changes and on exit)\n`);
      process.stdout.write("stop with Ctrl-C\n");
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await sim.close();
      process.stdout.write("capo sim: stopped\n");
    });
}
