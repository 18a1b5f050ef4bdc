import type { AvailabilityZone } from "../openstack/compute.js";

export interface FailureDomain {
  name: string;
  controlPlane?: boolean;
  attributes?: Record<string, string>;
}

/**
 * CAPI failure domains from Nova's availability zones (available ones only). Control plane machines may use a zone
 * when controlPlaneAvailabilityZones is empty or names it; with controlPlaneOmitAvailabilityZone none is marked for
 * the control plane, so Nova places control plane machines itself. Sorted by name so status does not churn.
 */
export function failureDomainsFrom(
  zones: readonly AvailabilityZone[],
  opts: { controlPlaneAvailabilityZones: readonly string[]; controlPlaneOmitAvailabilityZone: boolean },
): FailureDomain[] {
  const names = [...new Set(zones.filter((z) => z.zoneState?.available !== false).map((z) => z.zoneName))].sort();
  return names.map((name) => ({
    name,
    controlPlane:
      !opts.controlPlaneOmitAvailabilityZone &&
      (opts.controlPlaneAvailabilityZones.length === 0 || opts.controlPlaneAvailabilityZones.includes(name)),
  }));
}
