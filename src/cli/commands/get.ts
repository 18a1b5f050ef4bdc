import type { Command } from "commander";

interface KubeconfigFlags {
  namespace?: string;
  kubeconfig?: string;
  output?: string;
}

export function registerGet(program: Command): void {
  const get = program.command("get").description("Read things capo and Cluster API keep in the management cluster");
  get
    .command("kubeconfig")
    .description("Print (or write, mode 0600) the admin kubeconfig of a workload cluster")
    .argument("<cluster>", "name of the Cluster")
    .option("-n, --namespace <ns>", "namespace of the Cluster (default: the kubeconfig context's, else default)")
    .option("--kubeconfig <path>", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
    .option("-o, --output <file>", "write to this file (mode 0600) instead of stdout")
    .action(async (cluster: string, flags: KubeconfigFlags) => {
      const { loadKubeTarget } = await import("../../ops/kube.js");
      const { readWorkloadKubeconfig, writePrivateFile } = await import("../../ops/kubeconfig.js");
      const target = loadKubeTarget(flags.kubeconfig);
      try {
        const text = await readWorkloadKubeconfig(target, cluster, flags.namespace ?? target.defaultNamespace);
        if (flags.output) {
          await writePrivateFile(flags.output, text);
          process.stderr.write(`wrote the kubeconfig of ${cluster} to ${flags.output}\n`);
        } else {
          process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
        }
      } finally {
        target.client.close();
      }
    });
}
