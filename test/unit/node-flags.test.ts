import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CONTROLLER_NODE_FLAGS } from "../../src/cli/node-flags.js";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (p: string): string => readFileSync(join(ROOT, p), "utf8");
const MAIN = "/app/dist/src/cli/main.js";

/** The JSON array after `key` on one line of a Dockerfile or a JS object literal. */
function arrayAfter(text: string, key: string): unknown {
  const line = text.split("\n").find((l) => l.trimStart().startsWith(key));
  if (!line) throw new Error(`no line starting with ${key}`);
  return JSON.parse(line.slice(line.indexOf("[")).replace(/,\s*$/, ""));
}

describe("the controller's V8 flags are the same wherever it is started", () => {
  it("the Deployment's command", () => {
    const deployment = parseAllDocuments(read("config/manager/manager.yaml"))
      .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: { command?: string[] }[] } } } })
      .find((d) => d.kind === "Deployment");
    expect(deployment?.spec?.template.spec.containers[0]?.command).toEqual(["node", ...CONTROLLER_NODE_FLAGS, MAIN, "controller"]);
  });

  it("the Dockerfile's and the OCI layout's entrypoints", () => {
    expect(arrayAfter(read("Dockerfile"), "ENTRYPOINT")).toEqual(["node", ...CONTROLLER_NODE_FLAGS, MAIN]);
    expect(arrayAfter(read("hack/image/oci-layout.mjs"), "Entrypoint:")).toEqual(["node", ...CONTROLLER_NODE_FLAGS, MAIN]);
  });

  it("the side-by-side benchmark's launcher", () => {
    expect(read("bench/capo-controller-process.ts")).toContain("...CONTROLLER_NODE_FLAGS,");
  });
});
