import type { BlockDeviceMapping, BlockStorageClient, Volume } from "../openstack/index.js";
import { TerminalError } from "./errors.js";
import { deleteIgnoringNotFound, oldestFirst } from "./find-or-create.js";
import type { ClusterIdentity } from "./naming.js";

/** Cinder has no tags: our volumes carry these metadata keys, and are found again by name + metadata. */
export const VOLUME_CLUSTER_KEY = "capo-cluster";
export const VOLUME_MACHINE_KEY = "capo-machine";

export interface VolumeAZ {
  /** "Name" (default) or "Machine" (the machine's failure domain). */
  from?: string;
  name?: string;
}

/** spec.rootVolume and spec.additionalBlockDevices, as the API types define them. */
export interface RootVolumeInput {
  sizeGiB: number;
  type?: string;
  availabilityZone?: VolumeAZ;
}
export interface BlockDeviceInput {
  name: string;
  sizeGiB: number;
  storage: { type: string; volume?: { type?: string; availabilityZone?: VolumeAZ } };
}

/** One Cinder volume a machine needs before its server can be created. */
export interface PlannedVolume {
  /** "root" or the block device's name. */
  device: string;
  /** Cinder volume name: <machine>-<device>, as upstream names them. */
  name: string;
  sizeGiB: number;
  type?: string;
  availabilityZone?: string;
  /** The image a root volume is created from. */
  imageID?: string;
}

function volumeAZ(az: VolumeAZ | undefined, failureDomain: string | undefined): string | undefined {
  if (!az) return undefined;
  if (az.from === "Machine") return failureDomain || undefined;
  return az.name;
}

/** The Cinder volumes of a machine spec, in order: root first, then additional Volume devices. */
export function planVolumes(opts: {
  machineName: string;
  imageID?: string;
  failureDomain?: string;
  rootVolume?: RootVolumeInput;
  additionalBlockDevices?: BlockDeviceInput[];
}): PlannedVolume[] {
  const out: PlannedVolume[] = [];
  const rv = opts.rootVolume;
  if (rv && rv.sizeGiB > 0) {
    const az = volumeAZ(rv.availabilityZone, opts.failureDomain);
    out.push({
      device: "root",
      name: `${opts.machineName}-root`,
      sizeGiB: rv.sizeGiB,
      ...(rv.type ? { type: rv.type } : {}),
      ...(az ? { availabilityZone: az } : {}),
      ...(opts.imageID ? { imageID: opts.imageID } : {}),
    });
  }
  for (const bd of opts.additionalBlockDevices ?? []) {
    if (bd.storage.type !== "Volume") continue;
    const az = volumeAZ(bd.storage.volume?.availabilityZone, opts.failureDomain);
    out.push({
      device: bd.name,
      name: `${opts.machineName}-${bd.name}`,
      sizeGiB: bd.sizeGiB,
      ...(bd.storage.volume?.type ? { type: bd.storage.volume.type } : {}),
      ...(az ? { availabilityZone: az } : {}),
    });
  }
  return out;
}

/**
 * block_device_mapping_v2 for the server: the root volume (boot index 0) or nothing (boot from image), then the
 * additional devices in spec order. Volumes are deleted with the server (delete_on_termination).
 */
export function blockDeviceMappings(
  volumes: ReadonlyMap<string, string>,
  opts: { rootVolume?: RootVolumeInput; additionalBlockDevices?: BlockDeviceInput[]; imageID: string },
): BlockDeviceMapping[] {
  const out: BlockDeviceMapping[] = [];
  const rootID = volumes.get("root");
  if (rootID) {
    out.push({ boot_index: 0, uuid: rootID, source_type: "volume", destination_type: "volume", delete_on_termination: true });
  } else if (opts.additionalBlockDevices?.length) {
    // With other devices present, Nova needs the image as an explicit boot device.
    out.push({ boot_index: 0, uuid: opts.imageID, source_type: "image", destination_type: "local", delete_on_termination: true });
  }
  for (const bd of opts.additionalBlockDevices ?? []) {
    if (bd.storage.type === "Volume") {
      const id = volumes.get(bd.name);
      if (!id) throw new Error(`volume for block device ${bd.name} is not ready`);
      out.push({ boot_index: -1, uuid: id, source_type: "volume", destination_type: "volume", delete_on_termination: true, tag: bd.name });
    } else {
      out.push({ boot_index: -1, source_type: "blank", destination_type: "local", volume_size: bd.sizeGiB, delete_on_termination: true, tag: bd.name });
    }
  }
  return out;
}

/** Idempotent Cinder operations for one machine's volumes. */
export class VolumeService {
  constructor(
    private readonly cinder: BlockStorageClient,
    private readonly cluster: ClusterIdentity,
    private readonly machineName: string,
  ) {}

  private ours(v: Volume): boolean {
    const md = v.metadata ?? {};
    return md[VOLUME_CLUSTER_KEY] === `${this.cluster.namespace}/${this.cluster.name}` && md[VOLUME_MACHINE_KEY] === this.machineName;
  }

  private async find(name: string): Promise<Volume[]> {
    return oldestFirst((await this.cinder.listVolumes({ name })).filter((v) => v.name === name && this.ours(v)));
  }

  /**
   * The volume, found by name + our metadata or created. `ready` is false while Cinder is still creating it;
   * a volume in error is terminal (the user must fix type, size or quota, then replace the machine).
   */
  async ensure(p: PlannedVolume): Promise<{ volume: Volume; created: boolean; ready: boolean }> {
    let volume = (await this.find(p.name))[0];
    let created = false;
    if (!volume) {
      volume = await this.cinder.createVolume({
        name: p.name,
        size: p.sizeGiB,
        description: `Created by capo for machine ${this.machineName}`,
        metadata: { [VOLUME_CLUSTER_KEY]: `${this.cluster.namespace}/${this.cluster.name}`, [VOLUME_MACHINE_KEY]: this.machineName },
        ...(p.type ? { volume_type: p.type } : {}),
        ...(p.availabilityZone ? { availability_zone: p.availabilityZone } : {}),
        ...(p.imageID ? { imageRef: p.imageID } : {}),
      });
      created = true;
    }
    if (volume.status === "error") {
      throw new TerminalError("VolumeCreateFailed", `Cinder volume ${p.name} (${volume.id}) is in status error`);
    }
    return { volume, created, ready: volume.status === "available" || volume.status === "in-use" };
  }

  /**
   * Deletes the machine's leftover volumes (normally Nova deleted them with the server). Returns true when none
   * is left; false while one is still attached or being deleted.
   */
  async deleteAll(names: readonly string[]): Promise<boolean> {
    let done = true;
    for (const n of names) {
      for (const v of await this.find(n)) {
        if (v.status === "in-use" || v.status === "deleting" || v.status === "creating" || v.status === "attaching" || v.status === "detaching") {
          done = false;
          continue;
        }
        await deleteIgnoringNotFound(() => this.cinder.deleteVolume(v.id));
        done = false;
      }
    }
    return done;
  }
}
