import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { UserError } from "../../util/errors.js";

async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read --file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export function registerConvert(program: Command): void {
  program
    .command("convert")
    .description(
      "Rewrite a multi-document manifest bundle (CAPI v1alpha3..v1beta1, CAPO v1alpha3..v1beta1) to the current " +
        "versions: Cluster API v1beta2 and infrastructure.cluster.x-k8s.io/v1beta2. Settings with no equivalent " +
        "are reported on stderr, naming the object and field.",
    )
    .requiredOption("-f, --file <path>", "input YAML file (- for stdin)")
    .option("-o, --output <path>", "write the converted YAML here instead of stdout")
    .action(async (opts: { file: string; output?: string }) => {
      const text = await readInput(opts.file);
      const { convertManifests } = await import("../../manifests/convert/index.js");
      const result = convertManifests(text, opts.file === "-" ? "stdin" : opts.file);
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      if (opts.output) {
        try {
          await writeFile(opts.output, result.yaml);
        } catch (e) {
          throw new UserError(`cannot write --output ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
      } else {
        process.stdout.write(result.yaml);
      }
    });
}
