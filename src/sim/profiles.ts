import { NEUTRON_EXTENSIONS } from "./neutron-extensions.js";
import { NOVA_MAX, type Microversion } from "./nova-versions.js";

/** Services a cloud may lack; its Keystone catalog then has no endpoint for them. */
export type OptionalService = "load-balancer" | "block-storage";

const ALL_OPTIONAL: readonly OptionalService[] = ["load-balancer", "block-storage"];

/** The extensions of the simulator's catalog that the reference Zed cloud does not list. */
const ZED_LACKS: ReadonlySet<string> = new Set(["trunk", "trunk-details", "tag-creation"]);
const ZED_EXTENSIONS = NEUTRON_EXTENSIONS.map((e) => e.alias).filter((a) => !ZED_LACKS.has(a));

/**
 * Named simulator profiles: which optional features the simulated cloud has. `zed` (the default) is exactly the
 * reference Zed cloud (its Neutron has neither tag-creation nor trunk); `full` has everything capo can use;
 * `minimal` is the small private cloud: zed's Neutron, no Octavia, no Cinder, and a Nova older than 2.52.
 */
export const SIM_PROFILES = {
  zed: {
    description: "the reference Zed cloud: Neutron without tag-creation and trunk (captures 301-314)",
    neutronExtensions: ZED_EXTENSIONS,
    services: ALL_OPTIONAL,
    novaMaxMicroversion: NOVA_MAX,
  },
  full: {
    description: "everything capo can use, including Neutron tag-creation, trunk and trunk-details",
    neutronExtensions: NEUTRON_EXTENSIONS.map((e) => e.alias),
    services: ALL_OPTIONAL,
    novaMaxMicroversion: NOVA_MAX,
  },
  minimal: {
    description: "zed's Neutron, but no Octavia and no Cinder in the catalog, and Nova only up to microversion 2.51",
    neutronExtensions: ZED_EXTENSIONS,
    services: [],
    novaMaxMicroversion: [2, 51],
  },
} as const satisfies Record<string, SimProfile>;

export interface SimProfile {
  description: string;
  neutronExtensions: readonly string[];
  /** Which optional services the catalog lists. */
  services: readonly OptionalService[];
  /** Nova's maximum microversion (its version document and the range it accepts). */
  novaMaxMicroversion: Microversion;
}

export type SimProfileName = keyof typeof SIM_PROFILES;

export const DEFAULT_PROFILE: SimProfileName = "zed";

export function isProfileName(name: unknown): name is SimProfileName {
  return typeof name === "string" && Object.hasOwn(SIM_PROFILES, name);
}

export function profileNames(): SimProfileName[] {
  return Object.keys(SIM_PROFILES) as SimProfileName[];
}

export function profileOf(config: { profile?: string }): SimProfile {
  return SIM_PROFILES[isProfileName(config.profile) ? config.profile : DEFAULT_PROFILE];
}

/** The Neutron extensions of a world: the explicit list when given, else the profile's (default zed). */
export function neutronExtensionsOf(config: { profile?: string; neutronExtensions?: readonly string[] }): Set<string> {
  return new Set(config.neutronExtensions ?? profileOf(config).neutronExtensions);
}

export function isOptionalService(service: string): service is OptionalService {
  return (ALL_OPTIONAL as readonly string[]).includes(service);
}
