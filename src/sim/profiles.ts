import { NEUTRON_EXTENSIONS } from "./neutron-extensions.js";

/** The extensions of the simulator's catalog that the reference Zed cloud does not list. */
const ZED_LACKS: ReadonlySet<string> = new Set(["trunk", "trunk-details", "tag-creation"]);

/**
 * Named simulator profiles: which optional features the simulated cloud has. `zed` (the default) is exactly the
 * reference Zed cloud (its Neutron has neither tag-creation nor trunk); `full` has everything capo can use.
 */
export const SIM_PROFILES = {
  zed: {
    description: "the reference Zed cloud: Neutron without tag-creation and trunk (captures 301-314)",
    neutronExtensions: NEUTRON_EXTENSIONS.map((e) => e.alias).filter((a) => !ZED_LACKS.has(a)),
  },
  full: {
    description: "everything capo can use, including Neutron tag-creation, trunk and trunk-details",
    neutronExtensions: NEUTRON_EXTENSIONS.map((e) => e.alias),
  },
} as const satisfies Record<string, SimProfile>;

export interface SimProfile {
  description: string;
  neutronExtensions: readonly string[];
}

export type SimProfileName = keyof typeof SIM_PROFILES;

export const DEFAULT_PROFILE: SimProfileName = "zed";

export function isProfileName(name: unknown): name is SimProfileName {
  return typeof name === "string" && Object.hasOwn(SIM_PROFILES, name);
}

export function profileNames(): SimProfileName[] {
  return Object.keys(SIM_PROFILES) as SimProfileName[];
}

/** The Neutron extensions of a world: the explicit list when given, else the profile's (default zed). */
export function neutronExtensionsOf(config: { profile?: string; neutronExtensions?: readonly string[] }): Set<string> {
  if (config.neutronExtensions) return new Set(config.neutronExtensions);
  const name = isProfileName(config.profile) ? config.profile : DEFAULT_PROFILE;
  return new Set(SIM_PROFILES[name].neutronExtensions);
}
