/**
 * The outcome of parsing one user-supplied value. User mistakes are values, not
 * exceptions, so that every problem on a command line can be collected and
 * reported together.
 */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}

/** A parser turns the text of a flag or env var into a value, or says why it cannot. */
export type Parser<T> = (text: string) => Result<T>;
