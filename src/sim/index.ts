import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { stringify as toYaml } from "yaml";
import { adminRoutes } from "./admin.js";
import { blockStorageRoutes, registerBlockStorageTransitions } from "./blockstorage.js";
import { computeRoutes, registerComputeTransitions } from "./compute.js";
import type { SimConfig } from "./config.js";
import { DEFAULT_CONFIG, mergeConfig } from "./config.js";
import type { SimContext } from "./context.js";
import type { FaultConfig } from "./faults.js";
import { Faults } from "./faults.js";
import { imageRoutes } from "./image.js";
import { keystoneRoutes, pruneExpiredTokens } from "./keystone.js";
import { loadBalancerRoutes, registerLoadBalancerTransitions } from "./loadbalancer.js";
import { networkRoutes } from "./network.js";
import { seedWorld } from "./seed.js";
import type { ServiceMount } from "./server.js";
import { RequestStats, handleRequest } from "./server.js";
import { loadState, saveState, saveStateSync } from "./state.js";
import { World } from "./world.js";

export type { SimConfig } from "./config.js";
export type { FaultConfig, ErrorRule, FaultKind } from "./faults.js";
export { loadSimConfigFile } from "./config.js";
export { DEFAULT_PROFILE, SIM_PROFILES, type SimProfileName } from "./profiles.js";

export interface StartSimulatorOptions {
  /** Listen address; only loopback makes sense for a simulator. Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Laid over the default world: lists given replace the default's lists. */
  config?: SimConfig;
  /** Load the world from this file if it exists, and save it there on changes and on close. */
  statePath?: string;
  faults?: FaultConfig;
}

export interface RunningSimulator {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + "/identity/v3" */
  authUrl: string;
  /** A clouds.yaml with one cloud (default name "capo-sim") pointing at this simulator. */
  cloudsYaml(cloudName?: string): string;
  /** url + "/_sim" */
  adminUrl: string;
  close(): Promise<void>;
}

export async function startSimulator(opts: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const config = mergeConfig(DEFAULT_CONFIG, opts.config);
  const fresh = seedWorld(config);
  let world: World = fresh;
  if (opts.statePath) {
    const saved = await loadState(opts.statePath);
    if (saved) world = new World(saved, config);
  }
  registerComputeTransitions(world);
  registerLoadBalancerTransitions(world);
  registerBlockStorageTransitions(world);

  const ctx: SimContext = { world, faults: new Faults(opts.faults), url: "", authUrl: "" };
  const stats = new RequestStats();
  const mounts: ServiceMount[] = [
    { service: "identity", prefix: "identity", roots: ["/v3"], router: keystoneRoutes(ctx), auth: false },
    { service: "compute", prefix: "compute", roots: ["/v2.1"], router: computeRoutes(ctx), auth: true },
    { service: "network", prefix: "networking", roots: ["/v2.0"], router: networkRoutes(ctx), auth: true },
    { service: "image", prefix: "image", roots: ["/v2"], router: imageRoutes(ctx), auth: true },
    { service: "load-balancer", prefix: "load-balancer", roots: ["/v2.0", "/v2"], router: loadBalancerRoutes(ctx), auth: true },
    { service: "block-storage", prefix: "volume", roots: ["/v3"], router: blockStorageRoutes(ctx), auth: true },
  ];

  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  const statePath = opts.statePath;
  const scheduleSave = (): void => {
    if (!statePath || saveTimer) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      saving = saving.then(() => saveState(statePath, world.data)).catch((e: unknown) => {
        process.stderr.write(`capo sim: cannot save state to ${statePath}: ${e instanceof Error ? e.message : String(e)}\n`);
      });
    }, 200);
  };
  const deps = { ctx, mounts, admin: adminRoutes(ctx, stats), stats, onMutation: scheduleSave };

  const server = createServer((req, res) => {
    handleRequest(deps, req, res).catch((e: unknown) => {
      process.stderr.write(`capo sim: request failed: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 5000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  ctx.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  ctx.authUrl = `${ctx.url}/identity/v3`;
  // Expired tokens would otherwise pile up in long runs.
  const pruner = setInterval(() => pruneExpiredTokens(world), 60_000);
  pruner.unref();

  const demoUser = (config.users ?? []).find((u) => u.name === "demo") ?? (config.users ?? [])[0];
  let closed = false;
  return {
    url: ctx.url,
    authUrl: ctx.authUrl,
    adminUrl: `${ctx.url}/_sim`,
    cloudsYaml(cloudName = "capo-sim"): string {
      const project = demoUser?.projects?.[0] ?? "demo";
      return toYaml({
        clouds: {
          [cloudName]: {
            auth: {
              auth_url: ctx.authUrl,
              username: demoUser?.name ?? "demo",
              password: demoUser?.password ?? "demo",
              project_name: project,
              user_domain_name: demoUser?.domain ?? "Default",
              project_domain_name: (config.projects ?? []).find((p) => p.name === project)?.domain ?? "Default",
            },
            region_name: world.region,
            interface: "public",
            identity_api_version: 3,
          },
        },
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(pruner);
      if (saveTimer) clearTimeout(saveTimer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await saving;
      if (statePath) saveStateSync(statePath, world.data);
    },
  };
}
