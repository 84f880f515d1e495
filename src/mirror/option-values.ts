/** Parsers for --mirror and --mirror-sample (the rows live in src/config/options.ts). */
import { fail, ok, type Result } from '../config/result.js';
import type { SiteSpec } from '../config/types.js';
import { parseSites } from '../sites/parse.js';

/** One SITE in the positional arguments' syntax (zones, ellipses). */
export function parseMirrorSite(text: string): Result<SiteSpec> {
  const { sites, errors } = parseSites([text.trim()], { host: '', port: 0 });
  if (errors.length > 0) return fail(errors.join('; '));
  if (sites[0]!.catalog !== undefined) return fail('a mirror site cannot name catalog services (sidecar://)');
  return ok(sites[0]!);
}

/** A share of requests: "0.1" or "10%". */
export function parseShare(text: string): Result<number> {
  const t = text.trim();
  const percent = t.endsWith('%');
  const digits = percent ? t.slice(0, -1) : t;
  const value = Number(digits) / (percent ? 100 : 1);
  if (!/^\d+(?:\.\d+)?$/.test(digits) || value > 1) return fail(`${JSON.stringify(text)} is not a share (0..1, or 0%..100%)`);
  return ok(value);
}
