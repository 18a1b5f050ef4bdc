/**
 * A problem only the user can fix (a filter that matches nothing, or several things; a missing external
 * network). Controllers put `reason` and `message` in a condition and do not retry quickly; the message
 * names the spec field and what was looked for, never a credential.
 */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
  constructor(
    /** CamelCase condition reason, e.g. "ExternalNetworkNotFound". */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function isTerminal(e: unknown): e is TerminalError {
  return e instanceof TerminalError;
}
