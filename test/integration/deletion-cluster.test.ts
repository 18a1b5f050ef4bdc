import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { CREDENTIALS_FINALIZER, createCredentialsFinalizerController } from "../../src/controllers/credentials-finalizer.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { OpenStackClusterType } from "../../src/controllers/openstackcluster/types.js";
import { cloudFromSecret } from "../../src/controllers/credentials.js";
import { createSession, network } from "../../src/openstack/index.js";
import { CoreTypes, isNotFound, KubeClient, Manager, Metrics, removeFinalizer } from "../../src/runtime/index.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import {
  clusterSpec,
  condition,
  counts,
  createCluster,
  fastClusterControllerOptions,
  getOSC,
  inventory,
  SIM_PASSWORD,
  simConfig,
  until,
  waitProvisioned,
} from "./controller-cluster-fixtures.js";

// Deleting an OpenStackCluster finishes, or a condition names what blocks it, when the identity Secret is deleted
// first (kubectl delete -f of the generated file) and when the router is an L3-HA one.

type SecretObject = KubernetesObject & { data?: Record<string, string> };

describe("OpenStackCluster deletion that always finishes or says why", () => {
  const ns = useTestNamespace("delete-cluster");
  const logLines: string[] = [];
  const sims: RunningSimulator[] = [];
  let client: KubeClient;
  let manager: Manager;

  async function newSim(extra: Record<string, unknown> = {}): Promise<RunningSimulator> {
    const sim = await startTestSimulator({ config: { ...simConfig, ...extra } });
    sims.push(sim);
    return sim;
  }

  async function getSecret(name: string): Promise<SecretObject | undefined> {
    try {
      return await client.get<SecretObject>(CoreTypes.secret, ns.name, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  const empty = (c: Record<string, number>) => Object.values(c).every((n) => n === 0);

  beforeAll(async () => {
    const kubeConfig = testKubeConfig();
    client = new KubeClient(kubeConfig);
    manager = new Manager({ kubeConfig, log: capturingLogger(logLines), namespace: ns.name, metrics: new Metrics(), syncPeriodMs: 600_000 });
    manager.add(openStackClusterController(fastClusterControllerOptions));
    manager.add(createCredentialsFinalizerController());
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    await closeCachedSessions();
    client?.close();
    for (const s of sims) await s.close();
  });

  it("kubectl delete -f order (Secret first): the Secret is kept until the cluster is cleaned up, then released", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "secfirst", sim, clusterSpec("secfirst", "with-lb"));
    await waitProvisioned(client, ns.name, "secfirst");
    const secret = await until("Secret protected", async () => {
      const s = await getSecret("secfirst-cloud-config");
      return s?.metadata?.finalizers?.includes(CREDENTIALS_FINALIZER) ? s : undefined;
    });
    expect(secret.metadata?.deletionTimestamp).toBeUndefined();

    await client.delete(CoreTypes.secret, ns.name, "secfirst-cloud-config");
    const terminating = await getSecret("secfirst-cloud-config");
    expect(terminating?.metadata?.deletionTimestamp, "the Secret waits for its user").toBeDefined();
    await client.delete(OpenStackClusterType, ns.name, "secfirst");
    await until("cluster deleted", async () => (await getOSC(client, ns.name, "secfirst")) === undefined, 60_000);
    expect(empty(counts(await inventory(sim))), JSON.stringify(counts(await inventory(sim)))).toBe(true);
    await until("Secret released and gone", async () => (await getSecret("secfirst-cloud-config")) === undefined);
  });

  it("a Secret that is really gone blocks deletion with CredentialsUnavailable; restoring it lets deletion finish", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "secgone", sim, clusterSpec("secgone", "without-lb"));
    await waitProvisioned(client, ns.name, "secgone");
    await until("Secret protected", async () => (await getSecret("secgone-cloud-config"))?.metadata?.finalizers?.includes(CREDENTIALS_FINALIZER));
    // Someone strips the finalizer by hand and deletes the Secret.
    await client.delete(CoreTypes.secret, ns.name, "secgone-cloud-config");
    const s = await getSecret("secgone-cloud-config");
    if (s) await removeFinalizer(client, CoreTypes.secret, s, CREDENTIALS_FINALIZER);
    await until("Secret gone", async () => (await getSecret("secgone-cloud-config")) === undefined);

    await client.delete(OpenStackClusterType, ns.name, "secgone");
    const blocked = await until("CredentialsUnavailable", async () => {
      const o = await getOSC(client, ns.name, "secgone");
      return condition(o, "Ready")?.reason === "CredentialsUnavailable" ? o : undefined;
    });
    expect(condition(blocked, "Ready")?.message).toContain(`Secret ${ns.name}/secgone-cloud-config (identityRef.name) not found`);
    expect(counts(await inventory(sim)).networks, "nothing deleted without credentials, nothing forgotten").toBe(1);

    await client.create(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "secgone-cloud-config", namespace: ns.name },
      data: { "clouds.yaml": Buffer.from(sim.cloudsYaml("capo-sim")).toString("base64") },
    } as KubernetesObject);
    await until("cluster deleted", async () => (await getOSC(client, ns.name, "secgone")) === undefined, 60_000);
    expect(empty(counts(await inventory(sim)))).toBe(true);
  });

  it("L3-HA router: its replicated interfaces are removed by subnet, so the router and network are deleted", async () => {
    const sim = await newSim({ l3Ha: true });
    await createCluster(client, ns.name, "harouter", sim, clusterSpec("harouter", "without-lb"));
    const osc = await waitProvisioned(client, ns.name, "harouter");
    const secret = await client.get<SecretObject>(CoreTypes.secret, ns.name, "harouter-cloud-config");
    const session = createSession(await cloudFromSecret(secret, "test", { name: "harouter-cloud-config", cloudName: "capo-sim" }));
    try {
      const ifaces = await network(session).ports.list({ device_id: osc.status?.router?.id ?? "" });
      expect(ifaces.map((p) => p.device_owner)).toContain("network:ha_router_replicated_interface");
    } finally {
      await session.close();
    }
    await client.delete(OpenStackClusterType, ns.name, "harouter");
    await until("cluster deleted", async () => (await getOSC(client, ns.name, "harouter")) === undefined, 60_000);
    expect(counts(await inventory(sim))).toMatchObject({ routers: 0, networks: 0, subnets: 0, ports: 0 });
  });

  it("no log line carries the password", () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(SIM_PASSWORD))).toEqual([]);
  });
});
