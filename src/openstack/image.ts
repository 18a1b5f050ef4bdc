import { listAll } from "./pagination.js";
import { ospath } from "./path-template.js";
import type { OpenStackSession, Query } from "./session.js";

export interface Image {
  id: string;
  name: string | null;
  status: string;
  visibility?: string;
  tags?: string[];
  min_disk?: number;
  min_ram?: number;
  disk_format?: string;
  [k: string]: unknown;
}

export interface ImageFilter {
  name?: string;
  /** Images carrying all these tags (Glance repeats `tag=`). */
  tags?: string[];
  visibility?: "public" | "private" | "shared" | "community" | "all";
  status?: string;
  [k: string]: unknown;
}

/** Glance (image v2) calls capo uses. */
export function image(session: OpenStackSession) {
  return {
    async listImages(f: ImageFilter = {}): Promise<Image[]> {
      const { tags, ...rest } = f;
      const q: Query = {};
      for (const [k, v] of Object.entries(rest)) if (v !== undefined) q[k] = String(v);
      if (tags?.length) q["tag"] = tags;
      return listAll<Image>(session, "image", ospath`/images`, "images", q);
    },
    async getImage(id: string): Promise<Image> {
      return (await session.request<Image>("image", "GET", ospath`/images/${id}`)).body;
    },
  };
}

export type ImageClient = ReturnType<typeof image>;
