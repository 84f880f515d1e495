/**
 * Where an entry lives in the bucket. The primary key is the URL a GET would fetch (RFC 9111
 * §2): scheme, lower-cased authority and the target byte for byte (query parameters keep their
 * order; sidekick sorted them, which merges URLs an origin may treat as different). HEAD uses the
 * GET key. Variants chosen by Vary live below it:
 *
 *   <prefix>hh/<authority>/<sha256 of URL>/body        the body, its metadata in its own user metadata
 *                                                      (or, with Vary, an empty object holding the list of fields)
 *   <prefix>hh/<authority>/<sha256 of URL>/meta.json   only when that metadata does not fit (store-meta.ts)
 *   <prefix>hh/<authority>/<sha256 of URL>/v-<variant>/body, .../meta.json
 *
 * The authority is a readable path segment so a purge of a URL prefix can list one host.
 */
import { createHash } from 'node:crypto';

export interface EntryKeys {
  /** The absolute URL, as stored in the metadata (purges match it). */
  readonly url: string;
  /** Everything of this URL: deleting this prefix invalidates every variant. */
  readonly dir: string;
}

export function urlOf(scheme: string, authority: string, target: string): string {
  return `${scheme}://${authority.toLowerCase()}${target}`;
}

export function entryKeys(prefix: string, scheme: string, authority: string, target: string): EntryKeys {
  const url = urlOf(scheme, authority, target);
  const hash = createHash('sha256').update(url).digest('hex');
  return { url, dir: `${hostDir(prefix, authority)}${hash}/` };
}

/** Every entry of one host. */
export function hostDir(prefix: string, authority: string): string {
  return `${prefix}hh/${encodeURIComponent(authority.toLowerCase() || '_')}/`;
}

/** The directory of one variant ('' is the response without Vary). */
export function variantDir(keys: EntryKeys, variant: string): string {
  return variant === '' ? keys.dir : `${keys.dir}v-${variant}/`;
}

export const META = 'meta.json';
export const BODY = 'body';
