import { describe, expect, it } from "vitest";
import { pollDelayMs, providerIDFor, serverIDFromProviderID } from "../../src/controllers/openstackmachine/reconcile-normal.js";
import { serverAddresses, withFloatingIP } from "../../src/services/compute.js";
import { portCreateBody, portNames } from "../../src/services/ports.js";
import { blockDeviceMappings, planVolumes } from "../../src/services/volumes.js";
import type { Server } from "../../src/openstack/index.js";

const cluster = { namespace: "ns", name: "c1" };

describe("machine helpers", () => {
  it("formats providerID as upstream CAPO does, and reads it back", () => {
    expect(providerIDFor(undefined, "abc")).toBe("openstack:///abc");
    expect(providerIDFor("RegionTwo", "abc")).toBe("openstack://RegionTwo/abc");
    expect(serverIDFromProviderID("openstack:///abc")).toBe("abc");
    expect(serverIDFromProviderID("openstack://RegionTwo/abc")).toBe("abc");
    expect(serverIDFromProviderID("aws:///abc")).toBeUndefined();
    expect(serverIDFromProviderID(undefined)).toBeUndefined();
  });

  it("polls a young server often and an old one rarely, within bounds", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    expect(pollDelayMs("2026-01-01T00:10:00Z", 200, 30_000, now)).toBe(200);
    expect(pollDelayMs("2026-01-01T00:09:50Z", 200, 30_000, now)).toBe(5_000);
    expect(pollDelayMs("2026-01-01T00:00:00Z", 200, 30_000, now)).toBe(30_000);
    expect(pollDelayMs(undefined, 200, 30_000, now)).toBe(200);
  });

  it("names ports <machine>-<index or nameSuffix>", () => {
    expect(portNames("m", undefined)).toEqual(["m-0"]);
    expect(portNames("m", [{}, { nameSuffix: "storage" }, {}])).toEqual(["m-0", "m-storage", "m-2"]);
  });

  it("builds the Neutron port body with the cluster tag and every supported option", () => {
    const body = portCreateBody(
      {
        name: "m-0",
        networkID: "net",
        description: "d",
        tags: ["t1"],
        fixedIPs: [{ subnet: "sub", ipAddress: "10.0.0.5" }],
        securityGroups: ["sg1"],
        allowedAddressPairs: [{ ipAddress: "10.0.0.100" }],
        vnicType: "direct",
        profile: { trustedVF: true },
        valueSpecs: [{ name: "x", key: "dns_name", value: "m" }],
      },
      cluster,
    );
    expect(body).toMatchObject({
      name: "m-0",
      network_id: "net",
      description: "d",
      tags: ["t1", "capo-cluster=ns/c1"],
      fixed_ips: [{ subnet_id: "sub", ip_address: "10.0.0.5" }],
      security_groups: ["sg1"],
      allowed_address_pairs: [{ ip_address: "10.0.0.100" }],
      "binding:vnic_type": "direct",
      "binding:profile": { trusted: true },
      dns_name: "m",
    });
    const noSec = portCreateBody({ name: "m-1", networkID: "net", securityGroups: ["sg1"], enablePortSecurity: false }, cluster);
    expect(noSec["port_security_enabled"]).toBe(false);
    expect(noSec["security_groups"]).toBeUndefined();
  });

  it("plans Cinder volumes and the block device mapping", () => {
    const planned = planVolumes({
      machineName: "m",
      imageID: "img",
      failureDomain: "az2",
      rootVolume: { sizeGiB: 20, availabilityZone: { from: "Machine" } },
      additionalBlockDevices: [
        { name: "etcd", sizeGiB: 5, storage: { type: "Volume", volume: { type: "ssd" } } },
        { name: "scratch", sizeGiB: 1, storage: { type: "Local" } },
      ],
    });
    expect(planned).toEqual([
      { device: "root", name: "m-root", sizeGiB: 20, availabilityZone: "az2", imageID: "img" },
      { device: "etcd", name: "m-etcd", sizeGiB: 5, type: "ssd" },
    ]);
    const bdm = blockDeviceMappings(new Map([["root", "v-root"], ["etcd", "v-etcd"]]), {
      rootVolume: { sizeGiB: 20 },
      additionalBlockDevices: [
        { name: "etcd", sizeGiB: 5, storage: { type: "Volume" } },
        { name: "scratch", sizeGiB: 1, storage: { type: "Local" } },
      ],
      imageID: "img",
    });
    expect(bdm.map((d) => [d.boot_index, d.source_type, d.destination_type, d.uuid ?? null])).toEqual([
      [0, "volume", "volume", "v-root"],
      [-1, "volume", "volume", "v-etcd"],
      [-1, "blank", "local", null],
    ]);
    expect(blockDeviceMappings(new Map(), { imageID: "img" })).toEqual([]);
  });

  it("reports fixed IPs as InternalIP, floating IPs as ExternalIP and the name as InternalDNS", () => {
    const server = {
      id: "s",
      name: "m",
      status: "ACTIVE",
      addresses: {
        net: [
          { addr: "10.0.0.5", version: 4, "OS-EXT-IPS:type": "fixed" },
          { addr: "172.24.4.10", version: 4, "OS-EXT-IPS:type": "floating" },
        ],
      },
    } as Server;
    expect(serverAddresses(server)).toEqual([
      { type: "InternalIP", address: "10.0.0.5" },
      { type: "ExternalIP", address: "172.24.4.10" },
      { type: "InternalDNS", address: "m" },
    ]);
  });

  it("puts a floating IP just associated where Nova will list it: after the fixed address it points at", () => {
    const fixed = (addr: string) => ({ addr, version: 4, "OS-EXT-IPS:type": "fixed" });
    const floating = (addr: string) => ({ addr, version: 4, "OS-EXT-IPS:type": "floating" });
    const before = { id: "s", name: "m", status: "ACTIVE", addresses: { a: [fixed("10.0.0.5")], b: [fixed("10.1.0.7")] } } as unknown as Server;
    const after = { ...before, addresses: { a: [fixed("10.0.0.5")], b: [fixed("10.1.0.7"), floating("172.24.4.10")] } } as unknown as Server;
    expect(withFloatingIP(serverAddresses(before), "172.24.4.10", "10.1.0.7")).toEqual(serverAddresses(after));
    // Without a known fixed address: after the last InternalIP; already listed: unchanged.
    expect(withFloatingIP(serverAddresses(before), "172.24.4.10", undefined)).toEqual(serverAddresses(after));
    expect(withFloatingIP(serverAddresses(after), "172.24.4.10", "10.0.0.5")).toEqual(serverAddresses(after));
  });
});
