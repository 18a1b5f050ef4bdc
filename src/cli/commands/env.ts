import { Option, type Command } from "commander";
import { ENV_VAR_NAMES, renderEnvVars, renderExports, renderUnsets, resolveCloud, type ShellKind } from "../../clouds/index.js";

interface EnvFlags {
  file?: string;
  cloud?: string;
  shell: ShellKind;
  unset?: boolean;
}

/** Variable names to clear: ours plus every OPENSTACK_* / CAPO_* already set, as the seed's cleanup lines do. */
function namesToUnset(env: NodeJS.ProcessEnv): string[] {
  const set = new Set<string>(ENV_VAR_NAMES);
  for (const k of Object.keys(env)) if (/^(OPENSTACK|CAPO)_[A-Za-z0-9_]*$/.test(k)) set.add(k);
  return [...set];
}

export function registerEnv(program: Command): void {
  program
    .command("env")
    .description(
      "Print the variables upstream's env.rc exports (CAPO_CLOUD, OPENSTACK_CLOUD, OPENSTACK_CLOUD_*_B64) for a cloud " +
        'of clouds.yaml; use as: eval "$(capo env --cloud NAME)"',
    )
    .option("-f, --file <path>", "clouds.yaml to read (default: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack)")
    .option("-c, --cloud <name>", "cloud to use (default: OS_CLOUD, or the only cloud)")
    .addOption(new Option("--shell <shell>", "output syntax").choices(["bash", "fish", "json"]).default("bash"))
    .option("--unset", "print the lines that clear these variables instead")
    .action(async (flags: EnvFlags) => {
      if (flags.unset) {
        process.stdout.write(renderUnsets(namesToUnset(process.env), flags.shell));
        return;
      }
      const cloud = await resolveCloud({ file: flags.file, cloud: flags.cloud });
      // stderr, so `eval "$(capo env ...)"` still only sees the exports.
      for (const w of cloud.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(renderExports(renderEnvVars(cloud), flags.shell));
    });
}
