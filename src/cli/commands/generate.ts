import { writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { FLAVORS } from "../../manifests/generate/flavors.js";
import type { GenerateOptions, TemplateFlavor } from "../../manifests/generate/index.js";
import { UserError } from "../../util/errors.js";

function count(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number`);
    return Number(v);
  };
}

function flavor(v: string): TemplateFlavor {
  if (!(FLAVORS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${FLAVORS.join(", ")}`);
  return v as TemplateFlavor;
}

/** The options as commander parses them: most carry generateCluster's names; these three are spelled for the CLI. */
type ClusterFlags = Omit<GenerateOptions, "clusterName" | "sshKeyName" | "dnsServers" | "env" | "cwd" | "templatesDir"> & {
  sshKey?: string;
  /** Comma-separated. */
  dnsServers?: string;
  output?: string;
};

export function registerGenerate(program: Command): void {
  const generate = program.command("generate").description("Render manifests");
  generate.addCommand(
    new Command("cluster")
      .description(
        "Render a complete workload cluster (identity Secret, OpenStackCluster, Cluster, KubeadmControlPlane, " +
          "machine templates, MachineDeployment, MachineHealthChecks) from templates/cluster-template*.yaml. " +
          "Values not given as options are read from the environment under clusterctl's variable names " +
          "(e.g. as set by `capo env`).",
      )
      .argument("<name>", "cluster name")
      .option("-n, --namespace <ns>", "namespace of every object", "default")
      .option("--flavor <flavor>", `template flavor: ${FLAVORS.join(" | ")} (default: Octavia load balancer)`, flavor)
      .option("--kubernetes-version <version>", "Kubernetes version, e.g. v1.31.4 (KUBERNETES_VERSION)")
      .option("--control-plane-count <n>", "control plane machines (default 1)", count("--control-plane-count"))
      .option("--worker-count <n>", "worker machines (default 1)", count("--worker-count"))
      .option("--cloud <name>", "cloud in clouds.yaml (default: OS_CLOUD, or the only cloud)")
      .option("--clouds-file <path>", "clouds.yaml to read (default: the OpenStack client's search path)")
      .option("--external-network <name-or-id>", "external network for floating IPs and the router")
      .option("--image <name>", "Glance image name for all machines (OPENSTACK_IMAGE_NAME)")
      .option("--control-plane-flavor <name>", "Nova flavor of control plane machines")
      .option("--worker-flavor <name>", "Nova flavor of worker machines")
      .option("--ssh-key <name>", "Nova keypair injected into the machines")
      .option("--dns-servers <list>", "comma-separated DNS servers for the cluster subnet")
      .option("--failure-domain <az>", "availability zone for control plane and workers")
      .option("-o, --output <path>", "write the manifests here instead of stdout")
      .action(async (name: string, flags: ClusterFlags) => {
        const { sshKey, dnsServers, output: _output, ...same } = flags;
        const result = await (await import("../../manifests/generate/index.js")).generateCluster({
          ...same,
          clusterName: name,
          sshKeyName: sshKey,
          dnsServers: dnsServers?.split(",").map((s) => s.trim()).filter(Boolean),
        });
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        if (flags.output) {
          try {
            await writeFile(flags.output, result.yaml, { mode: 0o600 });
          } catch (e) {
            throw new UserError(`cannot write --output ${flags.output}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
          }
        } else {
          process.stdout.write(result.yaml);
        }
      }),
  );
}
