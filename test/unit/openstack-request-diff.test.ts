import { describe, expect, it } from "vitest";
import { kindDifferences, withoutLooksAfterDelete, type Recorded } from "../openstack/request-diff.js";

const r = (method: string, path: string, status: number, service = "network"): Recorded => ({ service, method, path, status });

describe("the real-versus-simulator request comparison", () => {
  it("leaves out a GET by id answered 404 after the same side deleted at that path, and nothing else", () => {
    const real = [
      r("GET", "/ports/{id}", 404), // before any delete: a real difference
      r("DELETE", "/ports/{id}", 204),
      r("GET", "/ports/{id}", 404), // a look at what was just deleted
      r("GET", "/networks/{id}", 404), // nothing deleted at this path
      r("DELETE", "/routers/{id}", 409),
      r("GET", "/routers/{id}", 404), // the delete was refused
      r("GET", "/ports/{id}", 404, "compute"), // another service's path
    ];
    expect(withoutLooksAfterDelete(real).map((x) => `${x.method} ${x.service} ${x.path} ${x.status}`)).toEqual([
      "GET network /ports/{id} 404",
      "DELETE network /ports/{id} 204",
      "GET network /networks/{id} 404",
      "DELETE network /routers/{id} 409",
      "GET network /routers/{id} 404",
      "GET compute /ports/{id} 404",
    ]);
  });

  it("still reports a kind only one side made when it is not such a look", () => {
    const real = [r("DELETE", "/ports/{id}", 204), r("GET", "/ports/{id}", 404)];
    const sim = [r("DELETE", "/ports/{id}", 204), r("GET", "/trunks", 404)];
    expect(kindDifferences(withoutLooksAfterDelete(real), withoutLooksAfterDelete(sim))).toEqual([{ key: "GET network /trunks 404", only: "sim" }]);
  });
});
