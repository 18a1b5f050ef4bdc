import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets, REDACTED } from "../../src/runtime/logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      cb();
    },
  });
  return { lines, destination };
}

const SECRETS = ["s3cret-value", "hunter2", "gAAAAABtoken", "appcred-s3cr3t", "clouds-yaml-body", "Bearer abc", "subject-tok"];

describe("runtime logger", () => {
  it("writes JSON lines with the object key and OpenStack request id", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination }).child({ controller: "openstackcluster", key: "ns/c1" });
    log.info({ openstackRequestId: "req-123" }, "network created");
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({ level: "info", controller: "openstackcluster", key: "ns/c1", openstackRequestId: "req-123", msg: "network created" });
    expect(typeof rec.time).toBe("string");
  });

  it("redacts passwords, tokens, application credential secrets, clouds.yaml and auth headers at any depth", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info(
      {
        password: "hunter2",
        auth: { password: "hunter2", token: "gAAAAABtoken", application_credential_secret: "appcred-s3cr3t" },
        cloud: { deep: { deeper: { auth: { password: "hunter2", applicationCredentialSecret: "appcred-s3cr3t" } } } },
        identity: { data: { "clouds.yaml": "clouds-yaml-body", cacert: "pem" } },
        secret: "s3cret-value",
        files: { "clouds.yaml": "clouds-yaml-body" },
        request: { headers: { Authorization: "Bearer abc", "X-Auth-Token": "gAAAAABtoken", "x-openstack-request-id": "req-9" } },
        response: { headers: { "X-Subject-Token": "subject-tok" } },
        list: [{ os_password: "hunter2" }],
      },
      "loaded cloud",
    );
    const line = lines.join("\n");
    for (const s of SECRETS) expect(line).not.toContain(s);
    const rec = JSON.parse(lines[0]!);
    expect(rec.auth.password).toBe(REDACTED);
    expect(rec.cloud.deep.deeper.auth.password).toBe(REDACTED);
    expect(rec.secret).toBe(REDACTED);
    expect(rec.identity.data).toEqual({ "clouds.yaml": REDACTED, cacert: REDACTED });
    // Non-secret fields survive so logs stay useful.
    expect(rec.request.headers["x-openstack-request-id"]).toBe("req-9");
    expect(rec.msg).toBe("loaded cloud");
  });

  it("redacts secret fields attached to logged errors", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const err = Object.assign(new Error("auth failed"), { request: { body: { auth: { password: "hunter2" } } }, token: "gAAAAABtoken" });
    log.error({ err }, "keystone said no");
    const rec = JSON.parse(lines[0]!);
    expect(rec.err.message).toBe("auth failed");
    expect(lines[0]).not.toContain("hunter2");
    expect(lines[0]).not.toContain("gAAAAABtoken");
  });

  it("scrubSecrets leaves non-secret values untouched and does not mutate its input", () => {
    const input = { name: "net", id: "1", nested: { password: "p", tags: ["a"] } };
    const out = scrubSecrets(input) as typeof input;
    expect(out).toEqual({ name: "net", id: "1", nested: { password: REDACTED, tags: ["a"] } });
    expect(input.nested.password).toBe("p");
  });
});
