/** Durations as sidekick's users write them, stored as milliseconds. */
import { fail, ok, type Parser, type Result } from './result.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign, as Go accepts
  'μs': 1e-3, // U+03BC Greek mu, as Go accepts
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Node fires a timer longer than this at once (with only a warning), so longer durations are refused. */
export const MAX_TIMER_MS = 2_147_483_647;

const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const PLAIN = new RegExp(`^${NUMBER}$`);
const GO_DURATION = new RegExp(`^(?:${NUMBER}(?:ns|us|µs|μs|ms|s|m|h))+$`);
const GO_PART = new RegExp(`(${NUMBER})(ns|us|µs|μs|ms|s|m|h)`, 'g');

/**
 * Parses "5" or "0.5" as seconds (what sidekick's help promises) and Go durations
 * such as "5s", "500ms", "1m30s" (what sidekick actually accepts). No sign: a
 * negative interval or timeout is never meaningful here.
 */
export function parseDurationMs(text: string): Result<number> {
  const trimmed = text.trim();
  let ms: number;
  if (PLAIN.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else if (GO_DURATION.test(trimmed)) {
    ms = 0;
    for (const [, amount, unit] of trimmed.matchAll(GO_PART)) ms += Number(amount) * (UNIT_MS[unit ?? ''] ?? NaN);
  } else {
    return fail(`${JSON.stringify(text)} is not a duration (use 5, 5s, 500ms or 1m)`);
  }
  if (!(ms <= MAX_TIMER_MS)) return fail(`${JSON.stringify(text)} is too long (at most ${MAX_TIMER_MS}ms, about 24 days)`);
  return ok(ms);
}

/** A duration parser with a lower bound: intervals must be positive, a shutdown grace period may be 0. */
export function durationMs(options: { readonly allowZero: boolean }): Parser<number> {
  return (text) => {
    const parsed = parseDurationMs(text);
    if (parsed.ok && parsed.value === 0 && !options.allowZero) {
      return fail(`${JSON.stringify(text)} must be greater than 0`);
    }
    return parsed;
  };
}
