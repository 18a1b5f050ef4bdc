import type { Command } from "commander";

interface BundleFlags {
  out: string;
  version: string;
  image?: string;
}

export function registerBundle(program: Command): void {
  program
    .command("bundle")
    .description(
      "Write the clusterctl provider bundle (metadata.yaml, infrastructure-components.yaml, cluster-template*.yaml) " +
        "for a release; put it in a clusterctl local repository as infrastructure-openstack/VERSION/",
    )
    .requiredOption("--out <dir>", "directory to write the files to (created if missing)")
    .option("--version <version>", "release version (semver with a leading v)", "v0.1.0")
    .option("--image <image>", "controller image (default: the manager image tagged with --version)")
    .action(async (flags: BundleFlags) => {
      const { writeBundle } = await import("../../ops/bundle.js");
      const written = await writeBundle(flags.out, { version: flags.version, image: flags.image });
      for (const p of written) process.stdout.write(`wrote ${p}\n`);
    });
}
