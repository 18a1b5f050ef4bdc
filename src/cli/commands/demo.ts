import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("Run the whole flow on the embedded default: OpenStack simulator + local management API")
    .action(() => {
      process.stdout.write(
        "capo demo: the embedded default (simulator, local kube-apiserver, controllers) is being built; " +
          "see README.md for what works today.\n",
      );
    });
}
