import { CommanderError } from "commander";
import { buildProgram } from "../../src/cli/program.js";
import { UserError, errorMessage } from "../../src/util/errors.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `capo ARGS` in this process through buildProgram(), capturing stdout/stderr and mapping errors the way
 * src/cli/main.ts does (UserError -> "error: message", exit code 1; anything else -> exit code 2 with the stack
 * in stderr so a test asserting "no stack trace" would see it).
 */
export async function runCapo(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const savedExit = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stderr.write;
  let code = 0;
  try {
    await buildProgram().exitOverride().parseAsync(["node", "capo", ...args]);
    code = typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode;
    else if (e instanceof UserError) {
      err.push(`error: ${e.message}\n`);
      code = e.exitCode;
    } else {
      err.push(`error: ${errorMessage(e)}\n${e instanceof Error ? (e.stack ?? "") : ""}\n`);
      code = 2;
    }
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    process.exitCode = savedExit;
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}
