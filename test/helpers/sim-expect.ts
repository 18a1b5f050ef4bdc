import { expect } from "vitest";
import { loadReference, shapeDiff } from "./sim.js";

/** The simulator answered with the recording's status and a body of the same shape (keys and value types). */
export function expectShape(file: string, status: number, body: unknown, ignore: string[] = []): void {
  const ref = loadReference(file);
  expect(status, `${file} status`).toBe(ref.response.status);
  expect(shapeDiff(ref.response.body, body, { ignore }), `${file} shape`).toEqual([]);
}

/** The error body is the recording's, to the letter, once the recording's ids are replaced by ours. */
export function expectMessage(file: string, actual: unknown, replace: [string, string][] = []): void {
  let expected = JSON.stringify(loadReference(file).response.body);
  for (const [from, to] of replace) expected = expected.split(from).join(to);
  expect(JSON.stringify(actual)).toBe(expected);
}
