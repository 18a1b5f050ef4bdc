/**
 * An error caused by the user's input or environment. The CLI prints its message alone (no stack trace),
 * so the message must name the field, file or flag at fault and say how to fix it.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** True when `e` is an Error of any kind; narrows unknown catch values. */
export function isError(e: unknown): e is Error {
  return e instanceof Error;
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return isError(e) ? e.message : String(e);
}
