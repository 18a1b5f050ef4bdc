import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { closeCachedSessions } from "../controllers/credentials.js";
import { controllers as registeredControllers } from "../controllers/index.js";
import { Manager, createLogger, type ControllerDefinition } from "../runtime/index.js";
import { startSimulator, type FaultConfig, type RunningSimulator, type SimConfig } from "../sim/index.js";
import { cachedTestBins, ensureTestBins, installCrds, repoRoot, startControlPlane, type ControlPlane, type TestBins } from "../testenv/index.js";
import { onProcessExit } from "../testenv/exit-cleanup.js";
import { errorMessage } from "../util/errors.js";
import { missingForRealCapi, startRealCapi, type RealCapi } from "./real-capi.js";

/** The controllers the demo and the benchmark need, by their registered name. */
export const REQUIRED_CONTROLLERS = ["openstackcluster", "openstackmachine"] as const;

export const SIM_CLOUD_NAME = "capo-sim";

export interface LocalEnvironmentOptions {
  simConfig?: SimConfig;
  faults?: FaultConfig;
  /** Run the controllers in this process (default true; the benchmark runs them in a child process). */
  startControllers?: boolean;
  /** Default: the registry in src/controllers/index.ts. */
  controllerDefs?: readonly ControllerDefinition[];
  /**
   * Also run the real Cluster API managers and the workload-cluster emulator (built on first use, with progress);
   * refuses up front, naming what is missing, when this machine cannot run them. Default false.
   */
  realCapi?: boolean;
  /**
   * The CRDs of the infrastructure provider under test (default: ours, config/crd); the upstream benchmark installs
   * upstream CAPO's instead.
   */
  infraCrdDir?: string;
  /** The kube-apiserver's audit log, for benchmarks that compare what each client asks of it (see startControlPlane). */
  auditLogPath?: string;
  /** Progress messages ("starting the simulator ..."). */
  onStep?: (message: string) => void;
}

export interface LocalEnvironment {
  readonly workDir: string;
  readonly sim: RunningSimulator;
  readonly controlPlane: ControlPlane;
  readonly kubeConfig: KubeConfig;
  readonly bins: TestBins;
  /** clouds.yaml pointing at the simulator (cloud "capo-sim"). */
  readonly cloudsYamlPath: string;
  /** JSON log lines of the in-process controllers. */
  readonly controllerLogPath: string;
  readonly manager: Manager | undefined;
  /** Names of the controllers running in this process. */
  readonly controllers: string[];
  /** Required controllers that are not registered in src/controllers/index.ts. */
  readonly missingControllers: string[];
  /** The real Cluster API managers and the emulator, when `realCapi` was asked for. */
  readonly capi: RealCapi | undefined;
  /** Stops everything that was started, in reverse order, and removes the work dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Refuses before anything starts when the real Cluster API managers cannot run here, naming each missing thing. */
function checkRealCapiPrerequisites(cached: boolean): void {
  const missing = missingForRealCapi(!cached);
  if (missing.length === 0) return;
  throw new Error(
    `the demo runs the real Cluster API managers, and this machine lacks:\n  - ${missing.join("\n  - ")}`,
  );
}

/** Runs hack/testbins.sh with its progress on our stderr (a cold build takes minutes), then reads the paths. */
async function provideTestBins(onStep: (m: string) => void, withCapiManagers: boolean): Promise<TestBins> {
  const cached = (await cachedTestBins({ withCapiManagers })) !== undefined;
  if (withCapiManagers) checkRealCapiPrerequisites(cached);
  if (!cached) {
    onStep(
      "building kube-apiserver and etcd" +
        (withCapiManagers ? ", Cluster API's managers and the workload-cluster emulator" : "") +
        " and fetching Cluster API's CRDs from the Go module proxy with hack/testbins.sh: this happens once and " +
        "may take several minutes (later runs start in seconds)",
    );
    await runTestBinsScript(withCapiManagers);
  }
  return ensureTestBins({ withCapiManagers });
}

function runTestBinsScript(withCapiManagers: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [join(repoRoot(), "hack", "testbins.sh")], {
      cwd: repoRoot(),
      stdio: ["ignore", "ignore", "inherit"],
      env: withCapiManagers ? process.env : { ...process.env, CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS: "1" },
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`hack/testbins.sh failed (exit code ${code ?? "?"}); see its messages above`))));
  });
}

/**
 * The embedded default world on this machine: the OpenStack simulator, a local etcd + kube-apiserver with our CRDs and
 * Cluster API's, and (optionally) our controllers in this process. Everything listens on 127.0.0.1 on ports picked at
 * run time, lives in one temp dir, and is stopped by stop() — or by src/testenv's exit and signal handlers if the
 * process ends first.
 */
export async function startLocalEnvironment(opts: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
  const onStep = opts.onStep ?? (() => undefined);
  const workDir = mkdtempSync(join(tmpdir(), "capo-demo-"));
  const unregisterDir = onProcessExit(() => rmSync(workDir, { recursive: true, force: true }));
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const s of stops.reverse()) {
        try {
          await s();
        } catch {
          // Best effort: keep stopping the rest.
        }
      }
      rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
      unregisterDir();
    })();
    return stopped;
  };

  try {
    const bins = await provideTestBins(onStep, opts.realCapi === true);

    onStep("starting the OpenStack simulator");
    const sim = await startSimulator({ config: opts.simConfig, faults: opts.faults });
    stops.push(() => sim.close());
    const cloudsYamlPath = join(workDir, "clouds.yaml");
    writeFileSync(cloudsYamlPath, sim.cloudsYaml(SIM_CLOUD_NAME), { mode: 0o600 });

    onStep(`starting etcd and kube-apiserver ${bins.kubernetesVersion}`);
    const controlPlane = await startControlPlane({ workDir, ...(opts.auditLogPath ? { auditLogPath: opts.auditLogPath } : {}) });
    stops.push(() => controlPlane.stop());

    onStep(`installing our CRDs and Cluster API ${bins.capiVersion}'s CRDs`);
    await installCrds(controlPlane.kubeconfigPath, [opts.infraCrdDir ?? join(repoRoot(), "config", "crd"), bins.capiCrdDir]);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);

    const defs = opts.controllerDefs ?? registeredControllers;
    const names = defs.map((d) => d.name);
    const missingControllers = REQUIRED_CONTROLLERS.filter((n) => !names.includes(n));
    const controllerLogPath = join(workDir, "controllers.log");
    let manager: Manager | undefined;
    if (opts.startControllers !== false) {
      onStep(`starting our controllers in this process: ${names.join(", ") || "(none registered)"}`);
      const running = await startControllerManager(kubeConfig, controllerLogPath, defs);
      stops.push(running.stop);
      manager = running.manager;
    }

    let capi: RealCapi | undefined;
    if (opts.realCapi) {
      onStep(`starting Cluster API ${bins.capiVersion}'s managers and the workload-cluster emulator in a private network namespace`);
      capi = await startRealCapi({ bins, kubeconfigPath: controlPlane.kubeconfigPath, simAdminUrl: sim.adminUrl, workDir });
      stops.push(capi.stop);
    }

    return {
      workDir,
      sim,
      controlPlane,
      kubeConfig,
      bins,
      cloudsYamlPath,
      controllerLogPath,
      manager,
      controllers: opts.startControllers !== false ? names : [],
      missingControllers,
      capi,
      stop,
    };
  } catch (e) {
    await stop();
    throw new Error(`cannot start the local environment: ${errorMessage(e)}`, { cause: e });
  }
}

/**
 * Our controllers in this process, as `capo controller` runs them (no leader election, no probe or metrics ports),
 * logging JSON lines to `logPath`. stop() drains reconciles (5 s at most) and closes the OpenStack sessions.
 */
export async function startControllerManager(
  kubeConfig: KubeConfig,
  logPath: string,
  defs: readonly ControllerDefinition[] = registeredControllers,
): Promise<{ manager: Manager; stop: () => Promise<void> }> {
  const logStream = createWriteStream(logPath, { flags: "a", mode: 0o600 });
  const log = createLogger({ level: "info", destination: logStream, base: { component: "capo-controller" } });
  const manager = new Manager({ kubeConfig, log, shutdownTimeoutMs: 5_000, syncPeriodMs: 60_000 });
  for (const d of defs) manager.add(d);
  const stop = async (): Promise<void> => {
    await manager.stop();
    await closeCachedSessions();
    await new Promise<void>((resolve) => logStream.end(resolve));
  };
  try {
    await manager.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { manager, stop };
}
