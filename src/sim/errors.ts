import { ApiError } from "./http.js";
import type { ServiceName } from "./http.js";

/** Error bodies in each service's own format, as recorded from a real Zed cloud. */

const KEYSTONE_TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function keystoneError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(
    status,
    { error: { code: status, message, title: KEYSTONE_TITLES[status] ?? "Error" } },
    headers,
  );
}

export const UNAUTHORIZED_MESSAGE = "The request you have made requires authentication.";

/** keystonemiddleware's answer to a missing, bogus or expired token on any service. */
export function unauthorized(authUrl: string): ApiError {
  return keystoneError(401, UNAUTHORIZED_MESSAGE, { "www-authenticate": `Keystone uri="${authUrl}"` });
}

const NOVA_KEYS: Record<number, string> = {
  400: "badRequest",
  403: "forbidden",
  404: "itemNotFound",
  405: "badMethod",
  406: "computeFault",
  409: "conflictingRequest",
  413: "overLimit",
  429: "overLimit",
  501: "notImplemented",
  503: "serviceUnavailable",
};

export function novaError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  const key = NOVA_KEYS[status] ?? "computeFault";
  return new ApiError(status, { [key]: { code: status, message } }, headers);
}

/** Cinder shares Nova's fault envelope. */
export function cinderError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  return novaError(status, message, headers);
}

export function neutronError(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): ApiError {
  return new ApiError(status, { NeutronError: { detail: "", message, type } }, headers);
}

const HTTP_REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function glanceError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  const reason = HTTP_REASONS[status] ?? "Error";
  return new ApiError(
    status,
    { code: `${status} ${reason}`, message: `${message}<br /><br />\n\n\n`, title: reason },
    headers,
  );
}

export function octaviaError(status: number, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(
    status,
    { debuginfo: null, faultcode: status >= 500 ? "Server" : "Client", faultstring: message },
    headers,
  );
}

/** A generic error of the given service, used by fault injection and the HTTP layer. */
export function serviceError(
  service: ServiceName,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): ApiError {
  switch (service) {
    case "identity":
      return keystoneError(status, message, headers);
    case "compute":
      return novaError(status, message, headers);
    case "block-storage":
      return cinderError(status, message, headers);
    case "network":
      return neutronError(status, neutronTypeFor(status), message, headers);
    case "image":
      return glanceError(status, message, headers);
    case "load-balancer":
      return octaviaError(status, message, headers);
    default:
      return new ApiError(status, { error: { code: status, message } }, headers);
  }
}

function neutronTypeFor(status: number): string {
  switch (status) {
    case 400:
      return "HTTPBadRequest";
    case 404:
      return "HTTPNotFound";
    case 405:
      return "HTTPMethodNotAllowed";
    case 409:
      return "HTTPConflict";
    case 429:
      return "HTTPTooManyRequests";
    case 503:
      return "HTTPServiceUnavailable";
    default:
      return "HTTPInternalServerError";
  }
}

export function reasonPhrase(status: number): string {
  return HTTP_REASONS[status] ?? "Error";
}
