import type { Command } from "commander";
import { registerController } from "./controller.js";
import { registerConvert } from "./convert.js";
import { registerDemo } from "./demo.js";
import { registerEnv } from "./env.js";
import { registerGenerate } from "./generate.js";
import { registerSim } from "./sim.js";
import { registerBundle } from "./bundle.js";
import { registerDescribe } from "./describe.js";
import { registerGet } from "./get.js";
import { registerInit } from "./init.js";
import { registerPreflight } from "./preflight.js";

/** Every `capo` subcommand registers itself here, one line each. */
export function registerCommands(program: Command): void {
  registerController(program);
  registerConvert(program);
  registerDemo(program);
  registerEnv(program);
  registerGenerate(program);
  registerSim(program);
  registerBundle(program);
  registerDescribe(program);
  registerGet(program);
  registerInit(program);
  registerPreflight(program);
}
