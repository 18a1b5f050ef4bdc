import { InvalidArgumentError, type Command } from "commander";
import { FLAVORS, type TemplateFlavor } from "../../manifests/generate/flavors.js";
import { parseDuration } from "../../runtime/duration.js";

interface DemoFlags {
  exit: boolean;
  flavor: TemplateFlavor;
  workers: number;
  controlPlanes: number;
  timeout: string;
}

function count(flag: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > 20) {
      throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to 20`);
    }
    return Number(v);
  };
}

function flavor(v: string): TemplateFlavor {
  if (!(FLAVORS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${FLAVORS.join(", ")}`);
  return v as TemplateFlavor;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run the whole flow on this machine: the OpenStack simulator, a local etcd + kube-apiserver with the CRDs, " +
        "capo's controllers, the real Cluster API core/kubeadm managers and a workload-cluster emulator (the servers " +
        "boot their kubeadm user data and register Nodes), and a generated cluster. Shows progress until every Node is " +
        "Ready, the resulting objects, Nodes and OpenStack resources, then runs until Ctrl-C (which removes " +
        "everything). Needs root (a private network namespace for the managers); the first run builds kube-apiserver, " +
        "etcd, the Cluster API managers and the emulator from the Go module proxy.",
    )
    .option("--exit", "exit after showing the result instead of running until Ctrl-C", false)
    .option("--flavor <flavor>", `cluster template flavor: ${FLAVORS.join(" | ")}`, flavor, "default")
    .option("--control-planes <n>", "control-plane machines", count("--control-planes", 1), 1)
    .option("--workers <n>", "worker machines", count("--workers", 0), 2)
    .option("--timeout <duration>", "how long to wait for every Node to be Ready", "5m")
    .action(async (flags: DemoFlags) => {
      await (await import("../../demo/run.js")).runDemo({
        exit: flags.exit,
        flavor: flags.flavor,
        controlPlanes: flags.controlPlanes,
        workers: flags.workers,
        timeoutMs: parseDuration(flags.timeout, "--timeout"),
      });
    });
}
