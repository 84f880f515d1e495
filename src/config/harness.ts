/** Test helpers for the outcome of parseCommandLine (not shipped: `harness.js` is left out of the package). */
import assert from 'node:assert/strict';
import type { ParseOutcome } from './parse.js';
import type { Config } from './types.js';

/** The config of an outcome that must be one. */
export function configOf(outcome: ParseOutcome): Config {
  if (outcome.kind !== 'config') assert.fail(`expected a config, got ${JSON.stringify(outcome)}`);
  return outcome.config;
}

/** The error messages of an outcome that must be an error. */
export function errorsOf(outcome: ParseOutcome): string[] {
  if (outcome.kind !== 'error') assert.fail(`expected errors, got ${outcome.kind}`);
  return outcome.errors;
}
