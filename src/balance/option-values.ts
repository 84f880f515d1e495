/** Parsers for the balancing options (the rows live in src/config/options.ts). */
import { fail, ok, type Result } from '../config/result.js';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Bounded loads' c: 0 (off) or a factor of at least 1 ("1.25"). */
export function parseBalanceFactor(text: string): Result<number> {
  const t = text.trim();
  const value = Number(t);
  if (!/^\d+(?:\.\d+)?$/.test(t) || (value !== 0 && value < 1)) return fail(`${JSON.stringify(text)}: use 0 (off) or a factor of at least 1, such as 1.25`);
  return ok(value);
}

/** A cookie name (an HTTP token). */
export function parseCookieName(text: string): Result<string> {
  const t = text.trim();
  return TOKEN.test(t) ? ok(t) : fail(`${JSON.stringify(text)} is not a cookie name (letters, digits and !#$%&'*+.^_\`|~-)`);
}
