import { listAll } from "./pagination.js";
import { ospath } from "./path-template.js";
import type { OpenStackSession } from "./session.js";

export interface Volume {
  id: string;
  name: string | null;
  status: string;
  size: number;
  availability_zone?: string;
  volume_type?: string | null;
  bootable?: string;
  attachments?: { server_id: string; attachment_id?: string; device?: string }[];
  metadata?: Record<string, string>;
  [k: string]: unknown;
}

export interface VolumeCreate {
  size: number;
  name?: string;
  description?: string;
  availability_zone?: string;
  volume_type?: string;
  imageRef?: string;
  metadata?: Record<string, string>;
  [k: string]: unknown;
}

export interface VolumeType {
  id: string;
  name: string;
  [k: string]: unknown;
}

/** Cinder (block-storage v3) calls capo uses. */
export function blockStorage(session: OpenStackSession) {
  return {
    /** Whether the catalog has a block-storage (Cinder) endpoint for our interface and region. */
    available(): Promise<boolean> {
      return session.hasEndpoint("block-storage");
    },
    async createVolume(v: VolumeCreate): Promise<Volume> {
      return (await session.request<{ volume: Volume }>("block-storage", "POST", ospath`/volumes`, { body: { volume: v } })).body.volume;
    },
    async getVolume(id: string): Promise<Volume> {
      return (await session.request<{ volume: Volume }>("block-storage", "GET", ospath`/volumes/${id}`)).body.volume;
    },
    async listVolumes(f: { name?: string } = {}): Promise<Volume[]> {
      return listAll<Volume>(session, "block-storage", ospath`/volumes/detail`, "volumes", f.name ? { name: f.name } : undefined);
    },
    async deleteVolume(id: string, o: { cascade?: boolean } = {}): Promise<void> {
      await session.request("block-storage", "DELETE", ospath`/volumes/${id}`, o.cascade ? { query: { cascade: true } } : {});
    },
    async listAvailabilityZones(): Promise<{ zoneName: string; zoneState: { available: boolean } }[]> {
      const r = await session.request<{ availabilityZoneInfo: { zoneName: string; zoneState: { available: boolean } }[] }>(
        "block-storage",
        "GET",
        ospath`/os-availability-zone`,
      );
      return r.body.availabilityZoneInfo;
    },
    async listVolumeTypes(): Promise<VolumeType[]> {
      return (await session.request<{ volume_types: VolumeType[] }>("block-storage", "GET", ospath`/types`)).body.volume_types;
    },
  };
}

export type BlockStorageClient = ReturnType<typeof blockStorage>;
