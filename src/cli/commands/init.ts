import type { Command } from "commander";
import { DEFAULT_NAMESPACE } from "../../ops/components.js";

interface InitFlags {
  kubeconfig?: string;
  namespace: string;
  image?: string;
  dryRun?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description(
      "Install capo into a management cluster: CRDs, RBAC and the controller Deployment (server-side apply; " +
        "running it again changes nothing)",
    )
    .option("--kubeconfig <path>", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
    .option("-n, --namespace <name>", "namespace for the controller", DEFAULT_NAMESPACE)
    .option("--image <image>", "controller image (default: the one in config/manager)")
    .option("--dry-run", "let the API server validate everything without changing anything")
    .action(async (flags: InitFlags) => {
      const { loadKubeTarget } = await import("../../ops/kube.js");
      const { renderInitReport, runInit } = await import("../../ops/init.js");
      const target = loadKubeTarget(flags.kubeconfig);
      try {
        const report = await runInit(target, { namespace: flags.namespace, image: flags.image, dryRun: flags.dryRun });
        process.stdout.write(renderInitReport(report, { namespace: flags.namespace, image: flags.image }));
      } finally {
        target.client.close();
      }
    });
}
