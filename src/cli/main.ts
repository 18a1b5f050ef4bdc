#!/usr/bin/env node
import { CommanderError } from "commander";
import { UserError, errorMessage } from "../util/errors.js";
import { buildProgram } from "./program.js";

async function main(): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    // Unexpected failures: message only; the stack is for developers who ask for it.
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    if (process.env["CAPO_DEBUG"] && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 2;
  }
}

await main();
