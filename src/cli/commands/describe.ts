import { Option, type Command } from "commander";

interface DescribeFlags {
  namespace?: string;
  kubeconfig?: string;
  output: "text" | "json";
}

export function registerDescribe(program: Command): void {
  const describe = program.command("describe").description("Show an object together with everything behind it");
  describe
    .command("cluster")
    .description(
      "One tree of a cluster: Cluster, OpenStackCluster, control plane, MachineDeployments, Machines and " +
        "OpenStackMachines, with their conditions and the OpenStack resources recorded in their status",
    )
    .argument("<name>", "name of the Cluster")
    .option("-n, --namespace <ns>", "namespace of the Cluster (default: the kubeconfig context's, else default)")
    .option("--kubeconfig <path>", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (name: string, flags: DescribeFlags) => {
      const { loadKubeTarget } = await import("../../ops/kube.js");
      const { collectCluster } = await import("../../ops/describe.js");
      const { buildClusterTree, renderTree } = await import("../../ops/describe-tree.js");
      const target = loadKubeTarget(flags.kubeconfig);
      try {
        const tree = buildClusterTree(await collectCluster(target, name, flags.namespace ?? target.defaultNamespace));
        process.stdout.write(flags.output === "json" ? `${JSON.stringify(tree, null, 2)}\n` : renderTree(tree));
      } finally {
        target.client.close();
      }
    });
}
