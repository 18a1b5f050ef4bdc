import { describe, expect, it } from "vitest";
import { SteadyStateMemo } from "../../src/controllers/steady-state.js";

const obj = (uid: string) => ({ metadata: { uid, name: "m", namespace: "ns" } });

describe("SteadyStateMemo (what a controller remembers between passes)", () => {
  it("remembers an object with its inputs for the TTL, and only with the same inputs", () => {
    let now = 1_000;
    const memo = new SteadyStateMemo(600_000, () => now);
    memo.record(obj("a"), "inputs-1");
    expect(memo.isVerified(obj("a"), "inputs-1")).toBe(true);
    expect(memo.remainingMs(obj("a"), "inputs-1")).toBe(600_000);
    expect(memo.remainingMs(obj("a"), "inputs-2"), "other inputs").toBeUndefined();
    expect(memo.remainingMs(obj("b"), "inputs-1"), "another object (uid)").toBeUndefined();
    now += 599_000;
    expect(memo.remainingMs(obj("a"), "inputs-1")).toBe(1_000);
    now += 1_000;
    expect(memo.remainingMs(obj("a"), "inputs-1"), "expired").toBeUndefined();
    expect(memo.isVerified(obj("a"), "inputs-1")).toBe(false);
  });

  it("forgets an object on request", () => {
    const memo = new SteadyStateMemo(60_000, () => 0);
    memo.record(obj("a"), "x");
    memo.forget(obj("a"));
    expect(memo.remainingMs(obj("a"), "x")).toBeUndefined();
    expect(memo.size).toBe(0);
  });
});
