import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubernetesObject } from "@kubernetes/client-node";
import { compute, network, ospath } from "../../src/openstack/index.js";
import { OpenStackMachineType, type OpenStackMachineObject } from "../../src/controllers/openstackmachine/types.js";
import { serverAddresses } from "../../src/services/compute.js";
import { CapiTypes, CoreTypes } from "../../src/runtime/index.js";
import { admin } from "../helpers/sim.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { MachineTestEnv, until, type Inventory } from "./controller-machine-env.js";

type CoreEvent = KubernetesObject & { reason?: string; message?: string; involvedObject?: { name?: string } };

const readyOf = (o: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } } | undefined) =>
  o?.status?.conditions?.find((c) => c.type === "Ready");

// On both simulator profiles: zed (no tag-creation, no trunk: tags set after creation, trunks refused) and full.
describe.each(["zed", "full"] as const)("OpenStackMachine controller against the real apiserver and the simulator (profile %s)", (profile) => {
  const ns = useTestNamespace(`ctrl-machine-${profile}`);
  let env: MachineTestEnv;
  let baseline: Inventory;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup({ config: { profile } });
    baseline = await env.inventory();
    await env.startController();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  const serversNamed = async (name: string) => (await env.inventory())["servers"]?.filter((s) => s.name === name) ?? [];
  const portsNamed = async (prefix: string) => (await env.inventory())["ports"]?.filter((p) => (p.name ?? "").startsWith(prefix)) ?? [];
  const serverIDOf = async (name: string) => (await env.getOSM(name))?.status?.instanceID;

  it("provisions 1 control plane + 1 worker and fulfils the InfraMachine contract", async () => {
    // Every stored version of cp-1, to see what the Machine controller would see between our writes.
    const cpVersions: OpenStackMachineObject[] = [];
    const watch = await env.client.stream(`/apis/infrastructure.cluster.x-k8s.io/v1beta2/namespaces/${ns.name}/openstackmachines`, { watch: "true" }, (line) => {
      const o = (JSON.parse(line) as { object: OpenStackMachineObject }).object;
      if (o.metadata?.name === "cp-1") cpVersions.push(o);
    });
    await env.createMachine("cp-1", { controlPlane: true, failureDomain: "az2" });
    await env.createMachine("w-1");
    const cp = await env.waitProvisioned("cp-1");
    const w = await env.waitProvisioned("w-1");

    for (const o of [cp, w]) {
      expect(o.spec.providerID).toBe(`openstack:///${o.status?.instanceID}`);
      expect(o.status?.instanceState).toBe("ACTIVE");
      expect(o.metadata?.finalizers).toContain("openstackmachine.infrastructure.cluster.x-k8s.io");
      expect(o.status?.resolved?.imageID).toBeTruthy();
      expect(o.status?.resolved?.flavorID).toBeTruthy();
      expect(o.status?.resources?.ports).toHaveLength(1);
      expect(o.status?.addresses?.find((a) => a.type === "InternalIP")?.address).toMatch(/^10\.6\.0\./);
      expect(o.status?.addresses).toContainEqual({ type: "InternalDNS", address: o.metadata?.name });
      expect(o.status?.conditions?.find((c) => c.type === "InstanceReady")?.status).toBe("True");
    }

    // The server as Nova has it: our port, keypair, failure domain, bootstrap data, cluster metadata.
    const nova = compute(env.session);
    const server = await nova.getServer(cp.status?.instanceID ?? "");
    expect(server["OS-EXT-AZ:availability_zone"]).toBe("az2");
    expect(server.key_name).toBe("capo-key");
    expect(server.metadata?.["capo-cluster"]).toBe(`${ns.name}/basic-1`);
    const ifaces = await nova.listServerInterfaces(server.id);
    expect(ifaces.map((i) => i.port_id)).toEqual([cp.status?.resources?.ports?.[0]?.id]);

    // Each role's port carries its managed security group.
    const net = network(env.session);
    const cpPort = await net.ports.get(cp.status?.resources?.ports?.[0]?.id ?? "");
    const wPort = await net.ports.get(w.status?.resources?.ports?.[0]?.id ?? "");
    expect(cpPort.security_groups).toEqual([env.infra.cpSG]);
    expect(wPort.security_groups).toEqual([env.infra.workerSG]);
    expect(cpPort.tags).toContain(`capo-cluster=${ns.name}/basic-1`);

    // The API floating IP lands on the control-plane machine only, and shows up as its ExternalIP.
    await until("floating IP on cp-1", async () => (await env.fipServerID()) === cp.status?.instanceID);
    const cpAgain = await until("cp-1 ExternalIP", async () => {
      const o = await env.getOSM("cp-1");
      return o?.status?.addresses?.some((a) => a.type === "ExternalIP" && a.address === env.infra.fipIP) ? o : undefined;
    }, 10_000);
    expect(cpAgain.status?.conditions?.find((c) => c.type === "APIServerIngressReady")?.status).toBe("True");
    // The floating IP the pass gave cp-1 came in the same write as provisioned, where Nova lists it.
    watch.abort();
    await watch.done;
    const provisioned = cpVersions.filter((o) => o.status?.initialization?.provisioned);
    expect(provisioned.length).toBeGreaterThan(0);
    expect(provisioned.filter((o) => !o.status?.addresses?.some((a) => a.type === "ExternalIP")).map((o) => o.metadata?.resourceVersion)).toEqual([]);
    const novaServer = await compute(env.session).getServer(cp.status?.instanceID ?? "");
    expect(cpAgain.status?.addresses).toEqual(serverAddresses(novaServer));
    expect((await env.getOSM("w-1"))?.status?.addresses?.some((a) => a.type === "ExternalIP")).toBe(false);

    await env.flushEvents();
    const events = await env.client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name });
    const reasons = events.items.filter((e) => e.involvedObject?.name === "cp-1").map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["InstanceCreated", "InstanceReady", "APIFloatingIPAssociated"]));
  });

  it("rebuilds a lost status (as after clusterctl move) from spec.providerID and the cloud, creating nothing", async () => {
    const before = await env.getOSM("cp-1");
    const id = before?.status?.instanceID;
    const ports = before?.status?.resources?.ports;
    expect(id).toBeTruthy();
    await env.client.replace(OpenStackMachineType, { ...before, status: {} } as KubernetesObject, { subresource: "status" });
    const after = await until("cp-1 status rebuilt", async () => {
      const o = await env.getOSM("cp-1");
      return o?.status?.instanceID && o.status.resources?.ports?.length && readyOf(o)?.status === "True" ? o : undefined;
    });
    expect(after.status?.instanceID).toBe(id);
    expect(after.status?.resources?.ports).toEqual(ports);
    expect(after.status?.initialization?.provisioned).toBe(true);
    expect(await serversNamed("cp-1")).toHaveLength(1);
    expect(await portsNamed("cp-1-")).toHaveLength(1);
    expect(await env.fipServerID()).toBe(id);
  });

  it("control plane 1 -> 3 -> 1 -> 3: the floating IP moves only when its holder is deleted", async () => {
    const holderName = async () => {
      const sid = await env.fipServerID();
      for (const n of ["cp-1", "cp-2", "cp-3", "cp-4", "cp-5"]) if (sid && (await serverIDOf(n)) === sid) return n;
      return undefined;
    };
    expect(await holderName()).toBe("cp-1");

    // 1 -> 3: the holder keeps it while new control-plane machines come up (no travelling).
    await env.createMachine("cp-2", { controlPlane: true });
    await env.createMachine("cp-3", { controlPlane: true });
    await env.waitProvisioned("cp-2");
    await env.waitProvisioned("cp-3");
    await new Promise((r) => setTimeout(r, 500));
    expect(await holderName()).toBe("cp-1");

    // 3 -> 1: KCP removes the oldest machines; each time the holder goes, the oldest live one takes over.
    await env.deleteMachine("cp-1");
    expect(await holderName()).toBe("cp-2");
    // The new holder reports the address as its ExternalIP (its siblings are revisited when one goes away).
    await until("cp-2 ExternalIP", async () =>
      (await env.getOSM("cp-2"))?.status?.addresses?.some((a) => a.type === "ExternalIP" && a.address === env.infra.fipIP),
    5_000);
    await env.deleteMachine("cp-2");
    expect(await holderName()).toBe("cp-3");
    expect(await serversNamed("cp-1")).toHaveLength(0);
    expect(await serversNamed("cp-2")).toHaveLength(0);

    // 1 -> 3 again: no hang, and the address stays on cp-3.
    await env.createMachine("cp-4", { controlPlane: true });
    await env.createMachine("cp-5", { controlPlane: true });
    await env.waitProvisioned("cp-4");
    await env.waitProvisioned("cp-5");
    await new Promise((r) => setTimeout(r, 500));
    expect(await holderName()).toBe("cp-3");

    // The endpoint is on a live control-plane server.
    const sid = await env.fipServerID();
    const server = await compute(env.session).getServer(sid ?? "");
    expect(server.status).toBe("ACTIVE");
    // It was only ever given to cp-1 (first), cp-2 and cp-3 (handovers at deletion); never to a new machine.
    await env.flushEvents();
    const targets = (await env.client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name })).items
      .filter((e) => e.reason === "APIFloatingIPAssociated")
      .map((e) => /associated with control-plane machine (\S+)/.exec(e.message ?? "")?.[1]);
    expect([...new Set(targets)].sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
  });

  it("reports a control-plane server deleted out of band as Ready=False InstanceDeleted within one resync, and never recreates it", async () => {
    await env.stopController();
    const resyncMs = 2_000;
    await env.startController({}, resyncMs);
    const victim = "cp-3"; // holds the floating IP
    const id = (await serverIDOf(victim)) ?? "";
    expect(await env.fipServerID()).toBe(id);
    const r = await admin(env.sim, "DELETE", `/resources/servers/${id}`);
    expect(r.status).toBe(204);
    const t0 = Date.now();
    const osm = await until(`${victim} Ready=False InstanceDeleted`, async () => {
      const o = await env.getOSM(victim);
      return readyOf(o)?.reason === "InstanceDeleted" ? o : undefined;
    }, resyncMs + 1_500);
    expect(Date.now() - t0).toBeLessThan(resyncMs + 1_500);
    expect(readyOf(osm)?.status).toBe("False");
    expect(readyOf(osm)?.message).toContain(id);
    expect(osm.status?.instanceState).toBe("DELETED");
    // The gone holder hands the endpoint to the oldest live control-plane machine.
    await until("floating IP on cp-4", async () => (await env.fipServerID()) === (await serverIDOf("cp-4")));
    // Never recreated inside the same OpenStackMachine.
    await new Promise((r) => setTimeout(r, resyncMs + 500));
    expect(await serversNamed(victim)).toHaveLength(0);
    expect((await env.getOSM(victim))?.status?.instanceID).toBe(id);
    // CAPI remediation deletes the machine: deleting works although the server is already gone.
    await env.deleteMachine(victim);
    expect(await portsNamed(`${victim}-`)).toHaveLength(0);

    // A worker stopped behind our back is reported as SHUTOFF, and Ready again once started.
    const wid = (await serverIDOf("w-1")) ?? "";
    await env.session.request("compute", "POST", ospath`/servers/${wid}/action`, { body: { "os-stop": null } });
    const stopped = await until("w-1 InstanceShutoff", async () => {
      const o = await env.getOSM("w-1");
      return readyOf(o)?.reason === "InstanceShutoff" ? o : undefined;
    }, resyncMs + 1_500);
    expect(stopped.status?.instanceState).toBe("SHUTOFF");
    await env.session.request("compute", "POST", ospath`/servers/${wid}/action`, { body: { "os-start": null } });
    await until("w-1 Ready again", async () => readyOf(await env.getOSM("w-1"))?.status === "True", resyncMs + 1_500);

    // The seed's "stopping a KCP node": a stopped holder serves no API, so it hands the address to the oldest
    // healthy control-plane machine once; started again, it does not take it back (no travelling).
    const cp4 = (await serverIDOf("cp-4")) ?? "";
    const cp5 = (await serverIDOf("cp-5")) ?? "";
    await env.session.request("compute", "POST", ospath`/servers/${cp4}/action`, { body: { "os-stop": null } });
    await until("floating IP handed from stopped cp-4 to cp-5", async () => (await env.fipServerID()) === cp5, resyncMs + 3_000);
    await env.session.request("compute", "POST", ospath`/servers/${cp4}/action`, { body: { "os-start": null } });
    await until("cp-4 Ready again", async () => readyOf(await env.getOSM("cp-4"))?.status === "True", resyncMs + 1_500);
    await new Promise((r) => setTimeout(r, resyncMs + 500));
    expect(await env.fipServerID()).toBe(cp5);
  });

  it("reports ERROR with Nova's fault message, terminally, and deletes the failed server", async () => {
    await env.createMachine("w-err");
    const o = await env.waitProvisioned("w-err");
    await admin(env.sim, "POST", `/servers/${o.status?.instanceID}/error`, { message: "Exceeded maximum number of retries. Exhausted all hosts." });
    const failed = await until("w-err InstanceStateError", async () => {
      const x = await env.getOSM("w-err");
      return readyOf(x)?.reason === "InstanceStateError" ? x : undefined;
    }, 10_000);
    expect(readyOf(failed)?.message).toContain("Exhausted all hosts");
    expect(failed.status?.instanceState).toBe("ERROR");
    expect(failed.status?.failureReason).toBe("CreateError");
    await env.deleteMachine("w-err");
    expect(await serversNamed("w-err")).toHaveLength(0);
  });

  it("a controller crashing right after creating a port (before or after tagging it) or the server (or deleting it) creates no duplicates and leaks nothing", async () => {
    await env.stopController();
    const crashed = new Set<string>();
    await env.startController({
      crashHook: (point, machine) => {
        if (machine !== "cr-1" || crashed.has(point)) return;
        crashed.add(point);
        throw new Error(`simulated crash at ${point}`);
      },
    });
    const group = await compute(env.session).createServerGroup({ name: "cp-anti-affinity", policy: "soft-anti-affinity" });
    await env.createMachine("cr-1", {
      spec: {
        ports: [
          {},
          {
            nameSuffix: "extra",
            network: { id: env.infra.networkID },
            allowedAddressPairs: [{ ipAddress: "10.6.0.250" }],
            vnicType: "normal",
            description: "second port",
            tags: ["extra"],
            // A trunk only where the cloud has the extension (zed refuses it: see the test below).
            ...(profile === "full" ? { trunk: true } : {}),
          },
        ],
        rootVolume: { sizeGiB: 2 },
        additionalBlockDevices: [
          { name: "etcd", sizeGiB: 1, storage: { type: "Volume" } },
          { name: "scratch", sizeGiB: 1, storage: { type: "Local" } },
        ],
        serverGroup: { filter: { name: "cp-anti-affinity" } },
        tags: ["machine-tag"],
        serverMetadata: [{ key: "role", value: "test" }],
      },
    });
    const o = await env.waitProvisioned("cr-1");
    expect([...crashed].sort()).toEqual(["after-port-create", "after-port-create-before-tag", "after-server-create"]);
    // Restart the controller (a new process would find the same): still exactly one of each.
    await env.stopController();
    await env.startController();
    await new Promise((r) => setTimeout(r, 500));
    expect(await serversNamed("cr-1")).toHaveLength(1);
    const ports = await portsNamed("cr-1-");
    expect(ports.map((p) => p.name).sort()).toEqual(["cr-1-0", "cr-1-extra"]);
    expect(o.status?.resources?.ports?.map((p) => p.id).sort()).toEqual(ports.map((p) => p.id).sort());
    // The port left untagged by the crash between its create and its tagging was adopted and tagged.
    for (const p of ports) expect((await network(env.session).ports.get(p.id)).tags).toContain(`capo-cluster=${ns.name}/basic-1`);
    const vols = (await env.inventory())["volumes"]?.filter((v) => (v.name ?? "").startsWith("cr-1-")) ?? [];
    expect(vols.map((v) => v.name).sort()).toEqual(["cr-1-etcd", "cr-1-root"]);
    expect(vols.every((v) => v.status === "in-use")).toBe(true);
    expect(o.status?.resolved?.serverGroupID).toBe(group.id);
    expect((await compute(env.session).getServerGroup(group.id)).members).toEqual([o.status?.instanceID]);
    const extra = await network(env.session).ports.get(ports.find((p) => p.name === "cr-1-extra")?.id ?? "");
    expect(extra.allowed_address_pairs?.[0]?.ip_address).toBe("10.6.0.250");
    expect(extra.tags).toEqual(expect.arrayContaining(["extra", "machine-tag"]));
    expect(extra.description).toBe("second port");
    if (profile === "full") {
      const trunks = await network(env.session).trunks.list({ port_id: extra.id });
      expect(trunks.map((t) => t.name)).toEqual(["cr-1-extra"]);
    }
    const server = await compute(env.session).getServer(o.status?.instanceID ?? "");
    expect(server.tags).toContain("machine-tag");
    expect(server.metadata?.["role"]).toBe("test");

    // A crash right after asking Nova to delete the server: the next pass waits for it and still cleans up.
    await env.stopController();
    await env.startController({
      crashHook: (point, machine) => {
        if (machine !== "cr-1" || crashed.has(point)) return;
        crashed.add(point);
        throw new Error(`simulated crash at ${point}`);
      },
    });
    await env.deleteMachine("cr-1");
    expect(crashed.has("after-server-delete")).toBe(true);
    expect(await serversNamed("cr-1")).toHaveLength(0);
    expect(await portsNamed("cr-1-")).toHaveLength(0);
    expect((await env.inventory())["volumes"]?.filter((v) => (v.name ?? "").startsWith("cr-1-"))).toEqual([]);
    await compute(env.session).deleteServerGroup(group.id);
    expect((await env.inventory())["trunks"] ?? []).toEqual([]);
    await env.stopController();
    await env.startController();
  });

  it("a server create whose outcome is unknown (Nova answered 500) is waited for, then sent once more", async () => {
    await env.stopController();
    await env.startController({ createGraceMs: 1_500 });
    const fault = await admin(env.sim, "PUT", "/faults", {
      errors: [{ service: "compute", method: "POST", pathContains: "/servers", rate: 1, kind: "500", count: 1 }],
    });
    expect(fault.status).toBe(200);
    const t0 = Date.now();
    await env.createMachine("u-1");
    const o = await env.waitProvisioned("u-1");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    expect(await serversNamed("u-1")).toHaveLength(1);
    expect((await serversNamed("u-1"))[0]?.id).toBe(o.status?.instanceID);
    await admin(env.sim, "DELETE", "/faults");
    await env.deleteMachine("u-1");
    await env.stopController();
    await env.startController();
  });

  it("waits for bootstrap data, honours the paused annotation, and reports a bad image without creating anything", async () => {
    await env.createMachine("w-wait", { noBootstrapData: true });
    const waiting = await until("w-wait WaitingForBootstrapData", async () => {
      const o = await env.getOSM("w-wait");
      return readyOf(o)?.reason === "WaitingForBootstrapData" ? o : undefined;
    });
    expect(waiting.status?.instanceID).toBeUndefined();
    await env.client.patch(OpenStackMachineType, "w-wait", { metadata: { annotations: { "cluster.x-k8s.io/paused": "" } } }, "merge", { namespace: ns.name });
    // Paused first (seen by the controller), then the bootstrap data arrives: still nothing may be created.
    await until("w-wait Paused", async () => (await env.getOSM("w-wait"))?.status?.conditions?.find((c) => c.type === "Paused")?.status === "True");
    await env.client.patch(CapiTypes.machine, "w-wait", { spec: { bootstrap: { dataSecretName: "w-wait-bootstrap" } } }, "merge", { namespace: ns.name });
    await new Promise((r) => setTimeout(r, 500));
    expect(await serversNamed("w-wait")).toHaveLength(0);
    await env.client.patch(OpenStackMachineType, "w-wait", { metadata: { annotations: { "cluster.x-k8s.io/paused": null } } }, "merge", { namespace: ns.name });
    const o = await env.waitProvisioned("w-wait");
    expect(o.status?.conditions?.find((c) => c.type === "Paused")?.status).toBe("False");

    await env.createMachine("w-badimage", { spec: { image: { filter: { name: "no-such-image" } } } });
    const bad = await until("w-badimage InstanceCreateFailed", async () => {
      const x = await env.getOSM("w-badimage");
      return readyOf(x)?.reason === "InstanceCreateFailed" ? x : undefined;
    });
    expect(readyOf(bad)?.message).toContain("spec.image.filter");
    expect(readyOf(bad)?.message).toContain("no-such-image");
    expect(await portsNamed("w-badimage-")).toHaveLength(0);
    expect(await serversNamed("w-badimage")).toHaveLength(0);
    await env.deleteMachine("w-badimage");

    // Nova refuses the server (unknown keypair): reported with Nova's message, and the ports made for it go on delete.
    await env.createMachine("w-badkey", { spec: { sshKeyName: "no-such-key" } });
    const badKey = await until("w-badkey InstanceCreateFailed", async () => {
      const x = await env.getOSM("w-badkey");
      return readyOf(x)?.reason === "InstanceCreateFailed" ? x : undefined;
    });
    expect(readyOf(badKey)?.message).toMatch(/compute rejected the request: .*key_name/);
    expect(await serversNamed("w-badkey")).toHaveLength(0);
    await env.deleteMachine("w-badkey");
    expect(await portsNamed("w-badkey-")).toHaveLength(0);
    await env.deleteMachine("w-wait");
    expect(await portsNamed("w-wait-")).toHaveLength(0);
  });

  it("a trunk: refused by name without the trunk extension (zed: no port, no server), made with it (full); delete completes", async () => {
    await env.createMachine("w-trunk", { spec: { trunk: true } });
    if (profile === "zed") {
      const refused = await until("w-trunk InstanceCreateFailed", async () => {
        const x = await env.getOSM("w-trunk");
        return readyOf(x)?.reason === "InstanceCreateFailed" ? x : undefined;
      });
      expect(readyOf(refused)?.message).toContain('no "trunk" extension');
      expect(await portsNamed("w-trunk-")).toHaveLength(0);
      expect(await serversNamed("w-trunk")).toHaveLength(0);
    } else {
      const o = await env.waitProvisioned("w-trunk");
      const trunks = await network(env.session).trunks.list({ port_id: o.status?.resources?.ports?.[0]?.id ?? "" });
      expect(trunks.map((t) => t.name)).toEqual(["w-trunk-0"]);
    }
    await admin(env.sim, "DELETE", "/requests");
    await env.deleteMachine("w-trunk");
    expect(await portsNamed("w-trunk-")).toHaveLength(0);
    // Without the extension deletion never calls /trunks (it would 404 there).
    const trunkCalls = (await admin<{ counts: { service: string; method: string; path: string }[] }>(env.sim, "GET", "/requests")).body.counts.filter((c) => c.path.startsWith("/trunks"));
    if (profile === "zed") expect(trunkCalls).toEqual([]);
    else expect(trunkCalls.some((c) => c.method === "DELETE")).toBe(true);
  });

  it("delete leaves zero machine resources, and the API floating IP is kept", async () => {
    for (const n of ["w-1", "cp-4", "cp-5"]) await env.deleteMachine(n, false);
    for (const n of ["w-1", "cp-4", "cp-5"]) await env.deleteMachine(n, true);
    const inv = await env.inventory();
    expect(inv["servers"]).toEqual([]);
    expect(inv["volumes"]).toEqual([]);
    expect((inv["ports"] ?? []).map((p) => p.id).sort()).toEqual((baseline["ports"] ?? []).map((p) => p.id).sort());
    const fip = await network(env.session).floatingIps.get(env.infra.fipID);
    expect(fip.port_id).toBeNull();
    expect(env.logLines.join("\n")).not.toContain('"password"');
  });
});

// A small private cloud (profile minimal): no Cinder, no Octavia, Nova only up to 2.51. What the spec needs from
// them is refused by name before any port or server exists; a plain machine still provisions and deletes.
describe("OpenStackMachine controller on a cloud without Cinder and with Nova 2.51 (profile minimal)", () => {
  const ns = useTestNamespace("ctrl-machine-minimal");
  let env: MachineTestEnv;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup({ config: { profile: "minimal" } });
    await env.startController();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  const refusal = (name: string) =>
    until(`${name} InstanceCreateFailed`, async () => {
      const x = await env.getOSM(name);
      return readyOf(x)?.reason === "InstanceCreateFailed" ? x : undefined;
    });
  const ours = async (prefix: string) => {
    const inv = await env.inventory();
    return [...(inv["ports"] ?? []), ...(inv["servers"] ?? []), ...(inv["volumes"] ?? [])].filter((x) => (x.name ?? "").startsWith(prefix));
  };

  it("refuses volumes (no block-storage endpoint) and server tags (Nova older than 2.52) by name, creating nothing", async () => {
    await env.createMachine("w-vol", { spec: { rootVolume: { sizeGiB: 2 } } });
    await env.createMachine("w-tags", { spec: { tags: ["machine-tag"] } });
    expect(readyOf(await refusal("w-vol"))?.message).toContain("no block-storage endpoint");
    expect(readyOf(await refusal("w-tags"))?.message).toContain("microversion 2.52");
    expect(await ours("w-vol")).toEqual([]);
    expect(await ours("w-tags")).toEqual([]);
    await env.deleteMachine("w-vol");
    await env.deleteMachine("w-tags");
  });

  it("provisions and deletes a plain worker without ever calling Cinder or Octavia", async () => {
    await env.createMachine("w-plain");
    const o = await env.waitProvisioned("w-plain");
    expect(o.status?.instanceState).toBe("ACTIVE");
    await env.deleteMachine("w-plain");
    expect(await ours("w-plain")).toEqual([]);
    const calls = (await admin<{ counts: { service: string }[] }>(env.sim, "GET", "/requests")).body.counts;
    expect(calls.filter((c) => c.service === "block-storage" || c.service === "load-balancer")).toEqual([]);
  });
});
