import type { NetworkClient, TaggableCollection } from "../openstack/index.js";

interface Taggable {
  id: string;
  tags?: string[];
}

/**
 * Creates a Neutron resource carrying `tags`. With tag-creation the tags go in the POST; without it (Zed and many
 * production clouds refuse them there) the resource is created bare and tagged with PUT /{collection}/{id}/tags.
 * Either way the answer is checked: Zed accepts tags in a port POST and silently drops them.
 */
export async function createTagged<T extends Taggable>(
  net: NetworkClient,
  collection: TaggableCollection,
  tags: readonly string[],
  create: (tagsInBody: string[] | undefined) => Promise<T>,
  /** Called between the create and the tagging: where the crash tests stop a controller. */
  beforeTagging?: (created: T) => void,
): Promise<T> {
  const inPost = await net.hasExtension("tag-creation");
  const created = await create(inPost ? [...tags] : undefined);
  beforeTagging?.(created);
  return ensureTags(net, collection, created, tags);
}

/** Adds the tags the resource lacks (one PUT of the whole list); no call when it has them all. */
export async function ensureTags<T extends Taggable>(net: NetworkClient, collection: TaggableCollection, r: T, tags: readonly string[]): Promise<T> {
  const have = r.tags ?? [];
  if (tags.every((t) => have.includes(t))) return r;
  const all = [...new Set([...have, ...tags])];
  const set = await net.replaceTags(collection, r.id, all);
  return { ...r, tags: set };
}

/**
 * Ours: it carries the cluster tag, or (a crash came between its creation and its tagging) it has what identifies a
 * resource we create: the name we looked it up by and our description (checked by the caller's `identifies`).
 */
export function isOursOrUntaggedOurs<T extends { tags?: string[] }>(r: T, tag: string, identifies: (r: T) => boolean): boolean {
  return (r.tags ?? []).includes(tag) || identifies(r);
}
