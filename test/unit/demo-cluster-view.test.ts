import { describe, expect, it } from "vitest";
import { allNodesReady, describeView, type ClusterView } from "../../src/demo/cluster-view.js";
import { renderNodes } from "../../src/demo/report.js";

const node = (name: string, controlPlane: boolean, ready: boolean) => ({ name, providerID: `openstack:///${name}`, controlPlane, ready });
const view = (over: Partial<ClusterView>): ClusterView => ({
  infrastructureProvisioned: true,
  endpoint: "172.24.4.3:6443",
  machines: 2,
  machinesRunning: 2,
  nodes: [node("cp-1", true, true), node("w-1", false, true)],
  ...over,
});

describe("demo cluster view", () => {
  it("is done only when every Machine runs with its Node and exactly that many Nodes are Ready", () => {
    expect(allNodesReady(view({}), 2)).toBe(true);
    expect(allNodesReady(view({ nodes: [node("cp-1", true, true), node("w-1", false, false)] }), 2)).toBe(false);
    expect(allNodesReady(view({ machinesRunning: 1 }), 2)).toBe(false);
    expect(allNodesReady(view({ machines: 3 }), 3)).toBe(false);
    expect(allNodesReady(view({ nodes: [...view({}).nodes, node("old", true, true)] }), 2)).toBe(false);
    expect(allNodesReady(view({ infrastructureProvisioned: false }), 2)).toBe(false);
  });

  it("describes the progress with Ready Nodes", () => {
    expect(describeView(undefined, 3)).toBe("waiting for the Cluster to be seen");
    expect(describeView(view({ nodes: [node("cp-1", true, true)] }), 3)).toBe(
      "infrastructure provisioned (endpoint 172.24.4.3:6443) · machines: 2/3 created, 2/3 running · Nodes Ready: 1/3",
    );
  });

  it("lists Nodes control planes first", () => {
    expect(renderNodes([node("w-1", false, false), node("cp-1", true, true)]).split("\n")).toEqual([
      "  NODE  ROLE           READY  PROVIDER ID",
      "  cp-1  control-plane  true   openstack:///cp-1",
      "  w-1   worker         false  openstack:///w-1",
    ]);
  });
});
