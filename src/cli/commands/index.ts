import type { Command } from "commander";
import { registerDemo } from "./demo.js";

/** Every `capo` subcommand registers itself here, one line each. */
export function registerCommands(program: Command): void {
  registerDemo(program);
}
