import { Command } from "commander";
import { registerCommands } from "./commands/index.js";

/** Builds the `capo` command tree; kept apart from main.ts so tests can drive it without a process. */
export function buildProgram(): Command {
  const program = new Command("capo")
    .description("Cluster API provider for OpenStack: from clouds.yaml to a running Kubernetes cluster")
    .version(process.env["npm_package_version"] ?? "0.1.0")
    // Root options only before the subcommand: otherwise `capo bundle --version v0.2.0` prints capo's version.
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerCommands(program);
  return program;
}
