export { OpenStackSession, createSession, type RequestHook, type RequestEvent, type SessionOptions, type ApiResponse, type RequestOptions, type Query } from "./session.js";
export type { RetryOptions } from "./retry.js";
export {
  OpenStackError,
  NotFoundError,
  ConflictError,
  BadRequestError,
  ForbiddenError,
  UnauthorizedError,
  OverQuotaError,
  RateLimitedError,
  ServiceUnavailableError,
  ConnectionError,
  EndpointNotFoundError,
  ProvisioningFailedError,
  WaitTimeoutError,
  isRetryable,
} from "./errors.js";
export { parseErrorBody } from "./error-body.js";
export { ospath, type RequestPath } from "./path-template.js";
export { listAll } from "./pagination.js";
export { DEFAULT_COMPUTE_MICROVERSION } from "./microversion.js";
export type { ServiceType } from "./catalog.js";
export { compute, type ComputeClient, type Server, type ServerCreate, type Flavor, type Keypair, type ServerGroup, type InterfaceAttachment, type BlockDeviceMapping } from "./compute.js";
export {
  network,
  type NetworkClient,
  type Network,
  type Subnet,
  type Router,
  type Port,
  type Trunk,
  type SecurityGroup,
  type SecurityGroupRule,
  type FloatingIp,
  type NeutronFilter,
  type TaggableCollection,
} from "./network.js";
export { image, type ImageClient, type Image, type ImageFilter } from "./image.js";
export { loadBalancer, type LoadBalancerClient, type LoadBalancer, type Listener, type Pool, type Member, type HealthMonitor } from "./load-balancer.js";
export { blockStorage, type BlockStorageClient, type Volume, type VolumeCreate, type VolumeType } from "./block-storage.js";
