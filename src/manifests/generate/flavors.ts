/** The cluster template flavors (a module of its own so that the CLI can list them without loading the generator). */
export const FLAVORS = ["default", "without-lb"] as const;
export type TemplateFlavor = (typeof FLAVORS)[number];
