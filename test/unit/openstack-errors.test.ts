import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  OpenStackError,
  OverQuotaError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  isRetryable,
  parseErrorBody,
} from "../../src/openstack/index.js";
import { errorForStatus } from "../../src/openstack/errors.js";
import { sharedPath } from "../helpers/shared.js";

const REF = sharedPath("openstack-reference", "zed");

interface Recorded {
  response: { status: number; headers: Record<string, string>; body: unknown };
}

function fromRecording(file: string): OpenStackError {
  const rec = JSON.parse(readFileSync(`${REF}/${file}`, "utf8")) as Recorded;
  const text = typeof rec.response.body === "string" ? rec.response.body : JSON.stringify(rec.response.body);
  const parsed = parseErrorBody(text, rec.response.headers["content-type"]);
  return errorForStatus(parsed.message, {
    status: rec.response.status,
    service: "x",
    method: "GET",
    path: "/p",
    requestId: rec.response.headers["x-openstack-request-id"],
    ...(parsed.code ? { code: parsed.code } : {}),
  });
}

describe("error bodies recorded from OpenStack Zed", () => {
  const cases: [string, new (...a: never[]) => OpenStackError, string, string | undefined, boolean][] = [
    ["003-keystone-auth-wrong-password.json", UnauthorizedError, "The request you have made requires authentication.", "Unauthorized", false],
    ["008-nova-microversion-too-new.json", OpenStackError, "Version 9.99 is not supported by the API. Minimum is 2.1 and maximum is 2.93.", "computeFault", false],
    ["011-nova-flavor-not-found.json", NotFoundError, "Flavor does-not-exist could not be found.", "itemNotFound", false],
    ["015-nova-keypair-duplicate.json", ConflictError, "Key pair 'cap-key' already exists.", "conflictingRequest", false],
    ["023-glance-image-not-found.json", NotFoundError, "No image found with ID 3e28ffb7-b937-4226-a473-2f0c6aaeac05", "Not Found", false],
    ["031-neutron-subnet-bad-cidr.json", BadRequestError, "Invalid input for operation: 10.6.0.0/33 is not in a CIDR format.", "InvalidInput", false],
    ["038-neutron-secgroup-rule-duplicate.json", ConflictError, "Security group rule already exists. Rule id is 1e5cc599-4c09-45ae-bf91-2094f3129746.", "SecurityGroupRuleExists", false],
    ["043-neutron-port-ip-exhausted.json", ConflictError, "No more IP addresses available on network c452d7d0-4ddb-4075-b33f-0c146bb2791c.", "IpAddressGenerationFailure", false],
    ["053-neutron-fip-associate-unreachable.json", NotFoundError, "External network cca85441-92b4-4fe8-8dfa-479b6c3487e0 is not reachable from subnet 387286ab-587a-4260-bb5c-572cc8731783. Therefore, cannot associate Port e4e6a686-58a6-429d-9b02-010655483d56 with a Floating IP.", "ExternalGatewayForFloatingIPNotFound", false],
    ["063-nova-server-bad-flavor.json", BadRequestError, "Flavor nope could not be found.", "badRequest", false],
    ["104-octavia-listener-while-pending.json", ConflictError, "Load Balancer 539df6dc-86c9-4424-830a-3c0c574219cc is immutable and cannot be updated.", "Client", true],
    ["117-octavia-member-duplicate.json", ConflictError, "Another member on this pool is already using ip 10.5.0.10 on protocol_port 6443", "Client", false],
    ["121-octavia-lb-delete-not-cascade.json", BadRequestError, "Validation failure: Cannot delete Load Balancer 539df6dc-86c9-4424-830a-3c0c574219cc - it has children", "Client", false],
    ["124-octavia-lb-get-gone.json", NotFoundError, "Load Balancer 539df6dc-86c9-4424-830a-3c0c574219cc not found.", "Client", false],
    ["210-neutron-fip-over-quota.json", OverQuotaError, "Quota exceeded for resources: ['floatingip'].", "OverQuota", false],
    ["212-nova-server-bad-az.json", BadRequestError, "The requested availability zone is not available", "badRequest", false],
    ["213-nova-server-over-quota.json", OverQuotaError, "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances", "forbidden", false],
    ["219-keystone-token-expired-or-bogus.json", UnauthorizedError, "The request you have made requires authentication.", "Unauthorized", false],
  ];
  it.each(cases)("%s", (file, cls, message, code, retryable) => {
    const e = fromRecording(file);
    expect(e).toBeInstanceOf(cls);
    expect(e.message).toBe(message);
    expect(e.code).toBe(code);
    expect(e.requestId).toMatch(/^req-/);
    expect(isRetryable(e)).toBe(retryable);
  });
});

describe("parseErrorBody", () => {
  it("reads Glance's HTML and plain-text bodies", () => {
    const html =
      "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID abc<br /><br />\n\n\n </body>\n</html>";
    expect(parseErrorBody(html, "text/html; charset=UTF-8").message).toBe("No image found with ID abc");
    expect(parseErrorBody("<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html").message).toBe("503 Service Unavailable");
    expect(parseErrorBody("  plain failure  \n", "text/plain").message).toBe("plain failure");
    expect(parseErrorBody("", undefined).message).toBe("(empty error body)");
  });

  it("reads Neutron's detail and Cinder's overLimit", () => {
    expect(parseErrorBody(JSON.stringify({ NeutronError: { type: "T", message: "m.", detail: "more" } }), "application/json")).toEqual({ message: "m. more", code: "T" });
    const quota = parseErrorBody(JSON.stringify({ overLimit: { code: 413, message: "VolumeSizeExceedsAvailableQuota: Requested volume exceeds quota" } }), "application/json");
    expect(errorForStatus(quota.message, { status: 413, service: "block-storage", method: "POST", path: "/volumes", code: quota.code })).toBeInstanceOf(OverQuotaError);
  });

  it("maps statuses to classes", () => {
    const info = (status: number, extra = {}) => ({ status, service: "s", method: "GET", path: "/", ...extra });
    expect(errorForStatus("x", info(403))).toBeInstanceOf(ForbiddenError);
    expect(errorForStatus("x", info(429))).toBeInstanceOf(RateLimitedError);
    expect(errorForStatus("x", info(504))).toBeInstanceOf(ServiceUnavailableError);
    expect(errorForStatus("Quota has been met for resources: loadbalancer", info(403))).toBeInstanceOf(OverQuotaError);
    expect(isRetryable(errorForStatus("x", info(500)))).toBe(true);
    expect(isRetryable(errorForStatus("x", info(404)))).toBe(false);
  });

  it("names each error by its class (what logs and e.name show)", () => {
    const info = (status: number) => ({ status, service: "s", method: "GET", path: "/" });
    expect([400, 401, 403, 404, 409, 429, 503, 302].map((s) => errorForStatus("x", info(s)).name)).toEqual([
      "BadRequestError",
      "UnauthorizedError",
      "ForbiddenError",
      "NotFoundError",
      "ConflictError",
      "RateLimitedError",
      "ServiceUnavailableError",
      "OpenStackError",
    ]);
  });
});
