/**
 * Ambassador options that are each valid but do not fit together: a tuning flag without the
 * feature it tunes (it would be silently ignored), split weights that do not match the SITEs,
 * and per-client limits with --workers (each worker would keep its own buckets and counts).
 */
import type { OptionKey } from '../config/options.js';

export interface GivenOptions {
  readonly values: ReadonlyMap<OptionKey, unknown>;
  /** Options the user set, each with its source label ("--x" or "OUTRIGGER_X"). */
  readonly given: ReadonlyMap<OptionKey, string>;
}

/** What `siteCount` counts: the SITE arguments; a sites file may add more sites later. */
export interface SiteCount {
  readonly args: number;
  readonly sitesFile: boolean;
}

const OUTLIER_SWITCHES: readonly OptionKey[] = ['outlier5xx', 'outlierGateway', 'outlierSuccessRate'];
const OUTLIER_TUNING: readonly OptionKey[] = ['outlierInterval', 'outlierEjection', 'outlierMaxEjection', 'outlierMaxShare'];
const MIRROR_TUNING: readonly OptionKey[] = ['mirrorSample', 'mirrorBodyLimit'];
const PER_CLIENT_LIMITS: readonly OptionKey[] = ['rateLimit', 'maxConnsPerClient'];

export function ambassadorOptionErrors(o: GivenOptions, sites: SiteCount): string[] {
  return [...splitErrors(o, sites), ...hashErrors(o), ...tuningErrors(o), ...workerErrors(o)];
}

/** The message for split weights that do not match the number of sites (also used on a sites-file read). */
export function splitMismatch(weights: readonly number[], siteCount: number): string {
  return `--split ${weights.join('/')}: ${weights.length} weights for ${siteCount} site${siteCount === 1 ? '' : 's'} (give one weight per SITE)`;
}

/**
 * A sites file must leave --split with one weight per site (the sites of the file and of the
 * arguments merge by index): a read that does not is refused and the last good sites stay.
 */
export function splitSitesCheck(weights: readonly number[] | undefined, argSites: number): (sites: readonly unknown[]) => string[] {
  if (weights === undefined) return () => [];
  return (sites) => {
    const count = Math.max(argSites, sites.length);
    return count === weights.length ? [] : [splitMismatch(weights, count)];
  };
}

function splitErrors(o: GivenOptions, sites: SiteCount): string[] {
  const split = o.values.get('split') as readonly number[] | undefined;
  if (split === undefined || sites.args === 0) return [];
  // With a sites file the file's sites count too: it is checked when read (at start and on every change).
  const fits = sites.sitesFile ? sites.args <= split.length : sites.args === split.length;
  return fits ? [] : [splitMismatch(split, sites.args)];
}

function hashErrors(o: GivenOptions): string[] {
  const v = o.values;
  const errors: string[] = [];
  const hashing = v.get('hostBalance') === 'hash' || v.get('stickyCookie') !== undefined;
  if (v.get('hashBalanceFactor') !== 0 && !hashing) errors.push(`${o.given.get('hashBalanceFactor')} needs --host-balance hash or --sticky-cookie`);
  if (v.get('hashKey') !== undefined && !hashing && v.get('split') === undefined) {
    errors.push(`${o.given.get('hashKey')} needs --host-balance hash, --sticky-cookie or --split`);
  }
  return errors;
}

/** A tuning flag given without its feature would change nothing: say so rather than ignore it. */
function tuningErrors(o: GivenOptions): string[] {
  const errors: string[] = [];
  // A switch given with a bad value has its own error already: its tuning flags are not blamed too.
  const outlierOn = OUTLIER_SWITCHES.some((k) => o.given.has(k) && o.values.get(k) !== 0);
  for (const k of OUTLIER_TUNING) {
    const label = o.given.get(k);
    if (label !== undefined && !outlierOn) errors.push(`${label} tunes outlier ejection, which is off: add --outlier-5xx, --outlier-gateway or --outlier-success-rate`);
  }
  for (const k of MIRROR_TUNING) {
    const label = o.given.get(k);
    if (label !== undefined && !o.given.has('mirror')) errors.push(`${label} tunes shadowing, which is off: add --mirror SITE`);
  }
  return errors;
}

/**
 * Workers share the listening socket, so a client's connections land on any of them: per-worker
 * buckets would let a client through at up to N times its limit, and splitting the limit by N
 * would hold a client whose connections all reach one worker to a fraction of it. Neither is the
 * limit the user wrote, so the combination is refused.
 */
function workerErrors(o: GivenOptions): string[] {
  const workers = o.values.get('workers') as number;
  if (workers <= 1) return [];
  const errors: string[] = [];
  for (const k of PER_CLIENT_LIMITS) {
    const label = o.given.get(k);
    if (label === undefined || o.values.get(k) === undefined || o.values.get(k) === 0) continue;
    errors.push(`${label} with ${o.given.get('workers')} ${workers}: each worker would count a client on its own (up to ${workers} × the limit); ` +
      'per-client limits need one process (--workers 1)');
  }
  return errors;
}
