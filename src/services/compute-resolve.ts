import type { ComputeClient, ImageClient } from "../openstack/index.js";
import { TerminalError } from "./errors.js";
import { describeFilter } from "./filters.js";

/** CAPO's id-or-filter references of a machine spec, as the API types define them. */
export interface ImageRef {
  id?: string;
  filter?: { name?: string; tags?: string[] };
}
export interface FlavorRef {
  id?: string;
  filter?: { name?: string };
}
export interface ServerGroupRef {
  id?: string;
  filter?: { name?: string };
}

function exactlyOne<T extends { id: string; name?: string | null }>(found: T[], what: string, kind: string, reason: string): T {
  if (found.length === 0) throw new TerminalError(reason, `${what} matched no ${kind}`);
  if (found.length > 1) {
    throw new TerminalError(
      reason.replace(/NotFound$/, "Ambiguous"),
      `${what} matched ${found.length} ${kind}s (${found.map((f) => f.name || f.id).join(", ")}); make it match exactly one`,
    );
  }
  return found[0] as T;
}

/** The image id: spec.image.id as given (upstream does not check it), or the one image matching the filter. */
export async function resolveImageID(images: ImageClient, ref: ImageRef): Promise<string> {
  if (ref.id) return ref.id;
  if (!ref.filter) throw new TerminalError("ImageNotFound", "spec.image: set id or filter");
  const found = await images.listImages({
    ...(ref.filter.name !== undefined ? { name: ref.filter.name } : {}),
    ...(ref.filter.tags?.length ? { tags: ref.filter.tags } : {}),
  });
  return exactlyOne(found, `spec.image.filter ${describeFilter(ref.filter)}`, "image", "ImageNotFound").id;
}

/** The flavor id: spec.flavor.id as given, or the one flavor named by the filter. */
export async function resolveFlavorID(nova: ComputeClient, ref: FlavorRef): Promise<string> {
  if (ref.id) return ref.id;
  if (!ref.filter?.name) throw new TerminalError("FlavorNotFound", "spec.flavor: set id or filter.name");
  const found = await nova.listFlavors({ name: ref.filter.name });
  return exactlyOne(found, `spec.flavor.filter ${describeFilter(ref.filter)}`, "flavor", "FlavorNotFound").id;
}

/** The server group id, or undefined when the spec names none. */
export async function resolveServerGroupID(nova: ComputeClient, ref: ServerGroupRef | undefined): Promise<string | undefined> {
  if (!ref) return undefined;
  if (ref.id) return ref.id;
  if (!ref.filter?.name) return undefined;
  const found = await nova.listServerGroups({ name: ref.filter.name });
  return exactlyOne(found, `spec.serverGroup.filter ${describeFilter(ref.filter)}`, "server group", "ServerGroupNotFound").id;
}
