import { InvalidArgumentError, type Command } from "commander";
import { resolveCloud } from "../../clouds/index.js";
import type { PreflightOptions } from "../../ops/preflight.js";

/** What to check, plus which cloud of which clouds.yaml. */
type PreflightFlags = PreflightOptions & { cloud?: string; file?: string };

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
      const { cloud: cloudName, file, ...options } = flags;
      const cloud = await resolveCloud({ file, cloud: cloudName });
      const { renderChecklist, runPreflight } = await import("../../ops/preflight.js");
      const results = await runPreflight(cloud, options);
      process.stdout.write(renderChecklist(results));
      if (results.some((r) => r.status === "fail")) process.exitCode = 1;
    });
}
