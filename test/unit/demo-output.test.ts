import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { resourceTypeOf } from "../../src/demo/apply.js";
import { Progress } from "../../src/demo/progress.js";
import { renderInventory, renderObjects, table, type InventoryProject } from "../../src/demo/report.js";

function sink(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 80;
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe("Progress", () => {
  it("prints plain lines without a TTY, the status only when it changes", () => {
    const s = sink(false);
    const p = new Progress(s.stream);
    p.status("waiting 0/3");
    p.status("waiting 0/3");
    p.line("created m1");
    p.status("waiting 1/3");
    p.done();
    expect(s.text()).toBe("... waiting 0/3\ncreated m1\n... waiting 1/3\n");
  });

  it("redraws one live line on a TTY and keeps log lines above it", () => {
    const s = sink(true);
    const p = new Progress(s.stream);
    p.status("waiting 0/3");
    p.line("created m1");
    p.done();
    const out = s.text();
    expect(out.startsWith("\r\x1b[K[  0s] waiting 0/3")).toBe(true);
    // The log line clears the status line, is printed, then the status is drawn again.
    expect(out).toContain("\r\x1b[Kcreated m1\n[  0s] waiting 0/3");
    expect(out.endsWith("\r\x1b[K")).toBe(true);
    expect(out).not.toContain("\n...");
  });
});

describe("report rendering", () => {
  it("aligns columns", () => {
    expect(table([["A", "BB"], ["CCC", "D"]])).toBe("  A    BB\n  CCC  D");
  });

  it("shows machines with role, providerID, state and addresses, and marks simulated ones", () => {
    const text = renderObjects({
      clusters: [{ metadata: { name: "demo" }, spec: { controlPlaneEndpoint: { host: "172.24.4.3", port: 6443 } }, status: { phase: "Provisioned", initialization: { infrastructureProvisioned: true } } }],
      openStackClusters: [
        {
          metadata: { name: "demo" },
          spec: { controlPlaneEndpoint: { host: "172.24.4.3", port: 6443 } },
          status: { initialization: { provisioned: true }, conditions: [{ type: "Ready", status: "True" }], network: { name: "net" } },
        },
      ],
      machines: [
        {
          metadata: { name: "cp-1", labels: { "cluster.x-k8s.io/control-plane": "" }, annotations: { "capo-ts.dev/simulated-by": "capi-core-stand-in" } },
          spec: { infrastructureRef: { name: "cp-1" } },
          status: { phase: "Provisioned" },
        },
      ],
      openStackMachines: [
        {
          metadata: { name: "cp-1" },
          spec: { providerID: "openstack:///abc" },
          status: { instanceState: "ACTIVE", addresses: [{ type: "InternalIP", address: "10.6.0.3" }] },
        },
      ],
    });
    expect(text).toMatch(/^\s+demo\s+Provisioned\s+provisioned\s+172\.24\.4\.3:6443$/m);
    expect(text).toMatch(/^\s+demo\s+true\s+True\s+172\.24\.4\.3:6443\s+net\s+-$/m);
    expect(text).toMatch(/^\s+cp-1\*\s+control-plane\s+Provisioned\s+openstack:\/\/\/abc\s+ACTIVE\s+InternalIP=10\.6\.0\.3$/m);
    expect(text).toContain("simulated CAPI core stand-in");
  });

  it("lists OpenStack resources per kind, counting security group rules and skipping empty kinds", () => {
    const p: InventoryProject = {
      id: "p",
      name: "demo",
      counts: {},
      resources: {
        networks: [{ id: "n1", name: "net", status: "ACTIVE" }],
        security_group_rules: [
          { id: "r1", name: null, status: null },
          { id: "r2", name: null, status: null },
        ],
        floatingips: [{ id: "f1", name: null, status: "DOWN" }],
        volumes: [],
      },
    };
    expect(renderInventory(p)).toBe(
      ["  networks (1):", "    net  n1  ACTIVE", "  security group rules: 2", "  floating IPs (1):", "    (no name)  f1  DOWN"].join("\n"),
    );
    expect(renderInventory({ ...p, resources: {} })).toBe("  (none)");
  });
});

describe("resourceTypeOf", () => {
  it("derives group, version and plural from apiVersion and kind", () => {
    expect(resourceTypeOf({ apiVersion: "v1", kind: "Secret" })).toEqual({ group: "", version: "v1", kind: "Secret", plural: "secrets" });
    expect(resourceTypeOf({ apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "KubeadmControlPlane" })).toEqual({
      group: "controlplane.cluster.x-k8s.io",
      version: "v1beta2",
      kind: "KubeadmControlPlane",
      plural: "kubeadmcontrolplanes",
    });
  });
});
