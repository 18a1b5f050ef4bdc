import type { SimContext } from "./context.js";
import { KEYSTONE_VERSION } from "./keystone.js";
import { CINDER_MAX } from "./blockstorage.js";
import type { SimResponse } from "./http.js";

/** Version discovery documents at each service root, shaped as the recorded Zed services answer. */

export function versionDocument(ctx: SimContext, prefix: string, rest: string): SimResponse | undefined {
  const u = ctx.url;
  const r = rest.replace(/\/+$/, "");
  switch (prefix) {
    case "identity":
      if (r === "") {
        return {
          status: 300,
          headers: { location: `${ctx.authUrl}/` },
          body: { versions: { values: [KEYSTONE_VERSION(ctx.authUrl)] } },
        };
      }
      if (r === "/v3") return { status: 200, body: { version: KEYSTONE_VERSION(ctx.authUrl) } };
      return undefined;
    case "compute": {
      const maxV = ctx.world.novaMaxMicroversion.join(".");
      const v21 = {
        id: "v2.1",
        links: [{ href: `${u}/compute/v2.1/`, rel: "self" }],
        min_version: "2.1",
        status: "CURRENT",
        updated: "2013-07-23T11:33:21Z",
        version: maxV,
      };
      if (r === "") {
        return {
          status: 200,
          body: {
            versions: [
              { id: "v2.0", links: [{ href: `${u}/compute/v2/`, rel: "self" }], min_version: "", status: "SUPPORTED", updated: "2011-01-21T11:33:21Z", version: "" },
              v21,
            ],
          },
        };
      }
      if (r === "/v2.1") {
        return {
          status: 200,
          body: {
            version: {
              ...v21,
              links: [...v21.links, { href: "http://docs.openstack.org/", rel: "describedby", type: "text/html" }],
              "media-types": [{ base: "application/json", type: "application/vnd.openstack.compute+json;version=2.1" }],
            },
          },
        };
      }
      return undefined;
    }
    case "networking":
      if (r === "") return { status: 200, body: { versions: [{ id: "v2.0", links: [{ href: `${u}/networking/v2.0/`, rel: "self" }], status: "CURRENT" }] } };
      if (r === "/v2.0") {
        const res = ["subnet", "network", "port", "router", "floatingip", "security_group", "security_group_rule", "trunk"];
        return {
          status: 200,
          body: {
            resources: res.map((name) => {
              const collection = name === "security_group_rule" ? "security-group-rules" : name === "security_group" ? "security-groups" : `${name}s`;
              return { collection, links: [{ href: `${u}/networking/v2.0/${collection}`, rel: "self" }], name };
            }),
          },
        };
      }
      return undefined;
    case "image":
      if (r === "" || r === "/versions" || r === "/v2") {
        const ids = ["v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"];
        return {
          status: r === "/versions" ? 200 : 300,
          body: { versions: ids.map((id, i) => ({ id, links: [{ href: `${u}/image/v2/`, rel: "self" }], status: i === 0 ? "CURRENT" : "SUPPORTED" })) },
        };
      }
      return undefined;
    case "load-balancer": {
      if (r === "" || r === "/v2" || r === "/v2.0") {
        const updated = ["2016-12-11", "2018-04-20", "2018-07-31", "2018-12-18", "2018-12-19", "2019-01-21", "2019-01-25", "2018-01-25", "2019-02-12", "2019-03-04", "2019-03-05", "2019-06-24", "2019-09-11", "2019-09-13", "2019-11-10", "2020-03-10", "2020-03-15", "2020-04-29", "2020-04-29", "2020-05-12", "2020-08-02", "2020-09-03", "2020-09-04", "2020-09-07", "2020-10-15", "2021-10-02", "2022-08-29"];
        const versions = updated.map((d, i) => ({
          id: `v2.${i}`,
          links: [{ href: `${u}/load-balancer/v2`, rel: "self" }],
          status: i === updated.length - 1 ? "CURRENT" : "SUPPORTED",
          updated: `${d}T00:00:00Z`,
        }));
        return { status: 200, body: r === "" ? { versions } : { version: versions[versions.length - 1] } };
      }
      return undefined;
    }
    case "volume": {
      const doc = {
        id: "v3.0",
        links: [{ href: `${u}/volume/v3/`, rel: "self" }],
        "media-types": [{ base: "application/json", type: "application/vnd.openstack.volume+json;version=3" }],
        min_version: "3.0",
        status: "CURRENT",
        updated: "2022-08-31T00:00:00Z",
        version: `${CINDER_MAX[0]}.${CINDER_MAX[1]}`,
      };
      if (r === "") return { status: 300, body: { versions: [doc] } };
      if (r === "/v3") return { status: 200, body: { versions: [doc] } };
      return undefined;
    }
    default:
      return undefined;
  }
}
