export * from "./kinds.js";
export { validateObject, formatIssues } from "./validate.js";
export type { ValidationIssue } from "./validate.js";
export type { OpenStackCluster, OpenStackClusterSpec, OpenStackClusterStatus } from "./openstackcluster.js";
export type { OpenStackMachine, OpenStackMachineSpec, OpenStackMachineStatus } from "./openstackmachine.js";
export type { OpenStackClusterTemplate, OpenStackMachineTemplate } from "./templates.js";
export type {
  FlavorParam,
  ImageParam,
  NetworkParam,
  SubnetParam,
  PortOpts,
  OpenStackIdentityReference,
} from "./common.js";
