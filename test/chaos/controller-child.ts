// Fixture for the chaos campaign (run with vite-node, not a test itself): every controller `capo controller` runs,
// watching all namespaces, with short waits. CHAOS_CRASH_RATE is the chance that the process SIGKILLs itself at
// each crash point of the machine controller (between a cloud call and the status write that records it).
import { createCredentialsFinalizerController } from "../../src/controllers/credentials-finalizer.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { destination } from "pino";
import { Manager, Metrics, createLogger } from "../../src/runtime/index.js";
import { loadKubeAuth } from "../../src/runtime/kubeconfig-lite.js";
import { fastClusterControllerOptions } from "../integration/fast-cluster-options.js";
import { Rng } from "./rng.js";

const kubeconfigPath = process.env["CAPO_TEST_KUBECONFIG"];
if (!kubeconfigPath) throw new Error("set CAPO_TEST_KUBECONFIG");
const crashRate = Number(process.env["CHAOS_CRASH_RATE"] ?? "0");
const rng = new Rng(Number(process.env["CHAOS_CHILD_SEED"] ?? "1"));
// kubeconfig-lite, as `capo controller` uses: client-node's KubeConfig module alone takes seconds to load, and the
// campaign restarts this process hundreds of times.
const kubeConfig = await loadKubeAuth(kubeconfigPath);
// Synchronous writes: this process is SIGKILLed at any moment, and a failed run is diagnosed from its last lines.
const log = createLogger({ level: "info", destination: destination({ fd: 1, sync: true }) });
const manager = new Manager({ kubeConfig, log, metrics: new Metrics(), syncPeriodMs: 10_000 });
manager.add(openStackClusterController(fastClusterControllerOptions));
manager.add(
  createOpenStackMachineController({
    pollMinMs: 100,
    pollMaxMs: 500,
    recheckMs: 1_000,
    createGraceMs: 2_000,
    // The same short per-object backoff as the cluster controller's fast options: a run hit by several injected
    // faults in a row retries within a second, not after the product's minutes-long backoff.
    backoffBaseMs: fastClusterControllerOptions.backoffBaseMs,
    backoffMaxMs: fastClusterControllerOptions.backoffMaxMs,
    crashHook: (point, machine) => {
      if (!rng.chance(crashRate)) return;
      process.stdout.write(`${JSON.stringify({ msg: "chaos: crash point", point, key: machine })}\n`);
      process.kill(process.pid, "SIGKILL");
    },
  }),
);
manager.add(createCredentialsFinalizerController());
await manager.start();
process.stdout.write(`${JSON.stringify({ msg: "controller started" })}\n`);
setInterval(() => undefined, 60_000);
