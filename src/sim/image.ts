import type { SimContext } from "./context.js";
import { glanceError } from "./errors.js";
import type { SimRequest, SimResponse } from "./http.js";
import { Router, asRecord } from "./http.js";
import type { Rec, World } from "./world.js";
import { makeImage } from "./world.js";

/** Glance v2 under /image/v2. */

const FILTER_KEYS = ["name", "status", "visibility", "owner", "container_format", "disk_format", "os_hidden", "protected"];

export function imageRoutes(ctx: SimContext): Router {
  const w = (): World => ctx.world;
  const r = new Router();
  const ok = (b: unknown, status = 200): SimResponse => ({ status, body: b });
  const visible = (req: SimRequest, i: Rec): boolean =>
    i["visibility"] === "public" || i["visibility"] === "community" || i["visibility"] === "shared" || i["owner"] === req.auth.projectId;

  r.get("/images", (req) => {
    const q = req.query;
    let list = Object.values(w().data.images).filter((i) => visible(req, i));
    for (const k of FILTER_KEYS) {
      const want = q.get(k);
      if (want === null) continue;
      if (want.startsWith("in:")) {
        const set = want.slice(3).split(",");
        list = list.filter((i) => set.includes(String(i[k])));
      } else if (k === "visibility" && want === "all") {
        continue;
      } else {
        list = list.filter((i) => String(i[k]) === want);
      }
    }
    const ids = q.get("id");
    if (ids) {
      const set = ids.startsWith("in:") ? ids.slice(3).split(",") : [ids];
      list = list.filter((i) => set.includes(i.id));
    }
    for (const tag of q.getAll("tag")) list = list.filter((i) => (i["tags"] as string[]).includes(tag));
    const sortKey = q.get("sort_key") ?? "created_at";
    const desc = (q.get("sort_dir") ?? "desc") === "desc";
    list.sort((a, b) => {
      const x = String(a[sortKey] ?? "");
      const y = String(b[sortKey] ?? "");
      const c = x === y ? (a.id < b.id ? -1 : 1) : x < y ? -1 : 1;
      return desc ? -c : c;
    });
    const marker = q.get("marker");
    if (marker) {
      const i = list.findIndex((x) => x.id === marker);
      if (i < 0) throw glanceError(400, `Invalid marker. Image ${marker} could not be found.`);
      list = list.slice(i + 1);
    }
    const limitRaw = q.get("limit");
    if (limitRaw !== null && !/^\d+$/.test(limitRaw)) throw glanceError(400, "limit param must be an integer");
    const limit = limitRaw !== null ? Number(limitRaw) : 25;
    const page = list.slice(0, limit);
    const qs = (extra: Record<string, string>) => {
      const u = new URLSearchParams();
      for (const [k, v] of q) if (k !== "marker") u.append(k, v);
      for (const [k, v] of Object.entries(extra)) u.set(k, v);
      const s = u.toString();
      return `/v2/images${s ? `?${s}` : ""}`;
    };
    const body: Record<string, unknown> = { first: qs({}), images: page };
    const last = page[page.length - 1];
    if (list.length > limit && last) body["next"] = qs({ marker: last.id });
    body["schema"] = "/v2/schemas/images";
    return ok(body);
  });
  r.get("/images/{id}", (req) => {
    const i = w().data.images[req.params["id"] as string];
    if (!i || !visible(req, i)) throw glanceError(404, `No image found with ID ${req.params["id"]}`);
    return ok(i);
  });
  r.post("/images", (req) => {
    const b = asRecord(req.body);
    if (!b) throw glanceError(400, "Request body must be a JSON object");
    for (const ro of ["status", "checksum", "size", "virtual_size", "created_at", "updated_at", "file", "self", "schema", "owner"]) {
      if (ro in b) throw glanceError(403, `Attribute '${ro}' is read-only.`);
    }
    if (b["name"] !== undefined && typeof b["name"] !== "string") throw glanceError(400, `Provided object does not match schema 'image': ${JSON.stringify(b["name"])} is not of type 'string'`);
    if (b["visibility"] === "public" && req.auth.projectId !== w().data.adminProjectId) {
      throw glanceError(403, `You are not authorized to complete publicize_image action.`);
    }
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(b)) {
      if (!["name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "tags", "protected", "id"].includes(k) && typeof v === "string") props[k] = v;
    }
    const img = makeImage(
      {
        name: (b["name"] as string | undefined) ?? "",
        id: typeof b["id"] === "string" ? b["id"] : undefined,
        status: "queued",
        visibility: (b["visibility"] as string | undefined) ?? "shared",
        diskFormat: b["disk_format"] as string | undefined,
        containerFormat: b["container_format"] as string | undefined,
        minDisk: b["min_disk"] as number | undefined,
        minRam: b["min_ram"] as number | undefined,
        tags: Array.isArray(b["tags"]) ? (b["tags"] as string[]) : [],
        properties: props,
      },
      req.auth.projectId,
    );
    img["size"] = null;
    img["virtual_size"] = null;
    img["checksum"] = null;
    w().data.images[img.id] = img;
    return ok(img, 201);
  });
  r.delete("/images/{id}", (req) => {
    const i = w().data.images[req.params["id"] as string];
    if (!i || !visible(req, i)) throw glanceError(404, `Failed to find image ${req.params["id"]} to delete`);
    if (i["owner"] !== req.auth.projectId) throw glanceError(403, "You are not authorized to complete delete_image action.");
    if (i["protected"] === true) throw glanceError(403, `Image ${i.id} is protected and cannot be deleted.`);
    delete w().data.images[i.id];
    return { status: 204 };
  });
  r.get("/schemas/image", () => ok({ name: "image", properties: {}, additionalProperties: { type: "string" } }));
  return r;
}
