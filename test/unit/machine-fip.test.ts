import { describe, expect, it } from "vitest";
import {
  decideApiFloatingIP,
  isHealthyCandidate,
  isLiveHolder,
  oldestFirst,
  type ControlPlaneMachineView,
} from "../../src/services/api-floating-ip.js";

function cp(name: string, minute: number, over: Partial<ControlPlaneMachineView> = {}): ControlPlaneMachineView {
  return {
    name,
    creationTimestamp: `2026-01-01T00:${String(minute).padStart(2, "0")}:00Z`,
    portIds: [`port-${name}`],
    primaryPortId: `port-${name}`,
    deleting: false,
    gone: false,
    instanceState: "ACTIVE",
    ...over,
  };
}

describe("sticky API floating IP: holder selection", () => {
  it("goes to the oldest healthy machine when unassociated", () => {
    const d = decideApiFloatingIP(null, [cp("b", 2), cp("a", 1), cp("c", 3)]);
    expect(d).toMatchObject({ action: "associate", machine: "a", portId: "port-a" });
  });

  it("skips machines that are still building, failed or being deleted when choosing", () => {
    const d = decideApiFloatingIP(undefined, [
      cp("a", 1, { instanceState: "BUILD" }),
      cp("b", 2, { instanceState: "ERROR" }),
      cp("c", 3, { deleting: true }),
      cp("d", 4, { gone: true }),
      cp("e", 5),
    ]);
    expect(d).toMatchObject({ action: "associate", machine: "e" });
  });

  it("waits when no machine is ACTIVE yet", () => {
    expect(decideApiFloatingIP(null, [cp("a", 1, { instanceState: "BUILD" })])).toMatchObject({ action: "keep" });
    expect(decideApiFloatingIP(null, [])).toMatchObject({ action: "keep" });
  });

  it("does not travel on scale-up: a live holder keeps it even when older machines exist", () => {
    // b holds it (a was building when the address was first given out); a is now ACTIVE and older.
    const d = decideApiFloatingIP("port-b", [cp("a", 1), cp("b", 2), cp("c", 3)]);
    expect(d).toEqual({ action: "keep", holder: "b", reason: expect.stringContaining("live") });
  });

  it("hands over from a stopped (SHUTOFF) holder to the oldest healthy machine: the API would be down", () => {
    const d = decideApiFloatingIP("port-a", [cp("a", 1, { instanceState: "SHUTOFF" }), cp("c", 3), cp("b", 2)]);
    expect(d).toMatchObject({ action: "associate", machine: "b", portId: "port-b" });
    if (d.action === "associate") expect(d.reason).toContain("SHUTOFF");
  });

  it("keeps a stopped holder when no healthy machine could take the address (detaching helps nobody)", () => {
    expect(
      decideApiFloatingIP("port-a", [cp("a", 1, { instanceState: "SHUTOFF" }), cp("b", 2, { instanceState: "BUILD" })]),
    ).toMatchObject({ action: "keep", holder: "a" });
  });

  it("moves to the oldest healthy other machine when the holder is being deleted", () => {
    const d = decideApiFloatingIP("port-a", [cp("a", 1, { deleting: true }), cp("c", 3), cp("b", 2)]);
    expect(d).toMatchObject({ action: "associate", machine: "b", portId: "port-b" });
    if (d.action === "associate") expect(d.reason).toContain("being deleted");
  });

  it("moves when the holder's server is gone or in ERROR", () => {
    expect(decideApiFloatingIP("port-a", [cp("a", 1, { gone: true }), cp("b", 2)])).toMatchObject({ action: "associate", machine: "b" });
    expect(decideApiFloatingIP("port-a", [cp("a", 1, { instanceState: "ERROR" }), cp("b", 2)])).toMatchObject({
      action: "associate",
      machine: "b",
    });
  });

  it("detaches from a deleting holder when nobody can take it, and keeps it on a failed one", () => {
    expect(decideApiFloatingIP("port-a", [cp("a", 1, { deleting: true })])).toMatchObject({ action: "disassociate" });
    expect(decideApiFloatingIP("port-a", [cp("a", 1, { gone: true })])).toMatchObject({ action: "keep" });
    expect(decideApiFloatingIP("port-a", [cp("a", 1, { deleting: true }), cp("b", 2, { instanceState: "BUILD" })])).toMatchObject({
      action: "disassociate",
    });
  });

  it("recognises the holder by any of its ports, and claims an address left on a foreign port", () => {
    const a = cp("a", 1, { portIds: ["port-a", "port-a-extra"] });
    expect(decideApiFloatingIP("port-a-extra", [a, cp("b", 2)])).toMatchObject({ action: "keep", holder: "a" });
    expect(decideApiFloatingIP("port-of-something-else", [a, cp("b", 2)])).toMatchObject({ action: "associate", machine: "a" });
  });

  it("gives the same answer whichever machine computes it (order of the input does not matter)", () => {
    const ms = [cp("c", 3), cp("a", 1, { deleting: true }), cp("b", 2)];
    const answers = new Set(
      [ms, [...ms].reverse(), [ms[1], ms[0], ms[2]]].map((l) => JSON.stringify(decideApiFloatingIP("port-a", l as ControlPlaneMachineView[]))),
    );
    expect(answers.size).toBe(1);
  });

  it("the seed's flow 1 -> 3 -> 1 -> 3 moves the address only when its holder is deleted", () => {
    let fipPort: string | null = null;
    const machines = new Map<string, ControlPlaneMachineView>();
    let moves = 0;
    const settle = () => {
      const d = decideApiFloatingIP(fipPort, [...machines.values()]);
      if (d.action === "associate") {
        fipPort = d.portId;
        moves++;
      } else if (d.action === "disassociate") fipPort = null;
    };
    const holder = () => [...machines.values()].find((m) => m.portIds.includes(fipPort ?? ""))?.name;
    machines.set("m1", cp("m1", 1));
    settle();
    expect(holder()).toBe("m1");
    machines.set("m2", cp("m2", 2));
    settle();
    machines.set("m3", cp("m3", 3));
    settle();
    expect(holder()).toBe("m1");
    expect(moves).toBe(1);
    // Scale down to 1: KCP deletes the oldest first here (m1, the holder), then m2.
    machines.set("m1", { ...(machines.get("m1") as ControlPlaneMachineView), deleting: true });
    settle();
    expect(holder()).toBe("m2");
    machines.delete("m1");
    machines.set("m2", { ...(machines.get("m2") as ControlPlaneMachineView), deleting: true });
    settle();
    expect(holder()).toBe("m3");
    machines.delete("m2");
    expect(moves).toBe(3);
    // Scale up again: the holder stays.
    machines.set("m4", cp("m4", 4));
    settle();
    machines.set("m5", cp("m5", 5));
    settle();
    expect(holder()).toBe("m3");
    expect(moves).toBe(3);
  });

  it("helpers: liveness, candidacy and ordering", () => {
    expect(isLiveHolder(cp("a", 1, { instanceState: "SHUTOFF" }))).toBe(true);
    expect(isHealthyCandidate(cp("a", 1, { instanceState: "SHUTOFF" }))).toBe(false);
    expect(isHealthyCandidate(cp("a", 1, { primaryPortId: undefined }))).toBe(false);
    expect(oldestFirst([cp("b", 1), cp("a", 1), cp("c", 0)]).map((m) => m.name)).toEqual(["c", "a", "b"]);
  });
});
