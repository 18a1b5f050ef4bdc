import { InvalidArgumentError, type Command } from "commander";
import { resolveCloud } from "../../clouds/index.js";
import { renderChecklist, runPreflight } from "../../ops/preflight.js";

interface PreflightFlags {
  cloud?: string;
  file?: string;
  externalNetwork?: string;
  image: string;
  controlPlaneFlavor: string;
  workerFlavor: string;
  sshKey?: string;
  availabilityZone?: string;
  controlPlaneCount: number;
  workerCount: number;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number, 0 or more");
  return n;
}

export function registerPreflight(program: Command): void {
  program
    .command("preflight")
    .description(
      "Check, before anything is created, that a cloud can host a cluster: credentials, external network, image, " +
        "flavors, key pair, availability zones and quotas. Prints a checklist; exit code 1 when a check fails",
    )
    .option("-c, --cloud <name>", "cloud of clouds.yaml (default: OS_CLOUD, or the only cloud)")
    .option("-f, --file <path>", "clouds.yaml to read (default: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack)")
    .option("--external-network <nameOrId>", "external network (default: the cloud's only router:external network)")
    .requiredOption("--image <nameOrId>", "image the machines boot from")
    .requiredOption("--control-plane-flavor <nameOrId>", "flavor of control plane machines")
    .requiredOption("--worker-flavor <nameOrId>", "flavor of worker machines")
    .option("--ssh-key <name>", "Nova key pair the machines get")
    .option("--availability-zone <name>", "availability zone (failure domain) to use")
    .option("--control-plane-count <n>", "control plane machines", count, 1)
    .option("--worker-count <n>", "worker machines", count, 1)
    .action(async (flags: PreflightFlags) => {
      const cloud = await resolveCloud({ file: flags.file, cloud: flags.cloud });
      const results = await runPreflight(cloud, {
        externalNetwork: flags.externalNetwork,
        image: flags.image,
        controlPlaneFlavor: flags.controlPlaneFlavor,
        workerFlavor: flags.workerFlavor,
        sshKey: flags.sshKey,
        availabilityZone: flags.availabilityZone,
        controlPlaneCount: flags.controlPlaneCount,
        workerCount: flags.workerCount,
      });
      process.stdout.write(renderChecklist(results));
      if (results.some((r) => r.status === "fail")) process.exitCode = 1;
    });
}
