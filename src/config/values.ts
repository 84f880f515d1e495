/** Parsers for the simple option values: booleans, bounded integers, enumerations, paths. */
import { fail, ok, type Parser, type Result } from './result.js';

const TRUE_WORDS = new Set(['true', 't', '1', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['false', 'f', '0', 'no', 'n', 'off']);

/** Accepts Go's strconv.ParseBool words plus the yes/no/on/off that env files commonly use. */
export function parseBool(text: string): Result<boolean> {
  const word = text.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return ok(true);
  if (FALSE_WORDS.has(word)) return ok(false);
  return fail(`${JSON.stringify(text)} is not a boolean (use true or false)`);
}

/** Plain decimal digits only: "1e3", "0x10" or "+1" in a port or a count is more likely a typo than intent. */
export function integerIn(min: number, max: number): Parser<number> {
  return (text) => {
    const trimmed = text.trim();
    if (!/^\d+$/.test(trimmed)) return fail(`${JSON.stringify(text)} is not a whole number`);
    const value = Number(trimmed);
    if (value < min || value > max) {
      if (max === Number.MAX_SAFE_INTEGER) return fail(`${value} is too small (minimum ${min})`);
      return fail(`${value} is out of range ${min}..${max}`);
    }
    return ok(value);
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (text) => {
    const found = choices.find((choice) => choice === text.trim());
    if (found !== undefined) return ok(found);
    return fail(`${JSON.stringify(text)} must be one of ${choices.join(', ')}`);
  };
}

/**
 * A health path goes verbatim into an HTTP request line, so whitespace and control
 * characters are refused here rather than surfacing later as a failed probe. A path without its
 * leading "/" is refused with the fix spelled out: sidekick added the slash silently, which hid
 * typos such as a host name pasted into the path.
 */
export function parseHealthPath(text: string): Result<string> {
  if (/[\s\u0000-\u001f\u007f]/.test(text)) {
    return fail(`${JSON.stringify(text)} must not contain spaces or control characters`);
  }
  if (text === '') return ok('/');
  if (!text.startsWith('/')) return fail(`${JSON.stringify(text)} must start with "/" (did you mean "/${text}"?)`);
  return ok(text);
}
