/**
 * Vary (RFC 9111 §4.1): which request fields select among stored responses. Values are
 * normalised before they are compared or hashed, so "br, gzip" and "gzip,br" select the same
 * stored response (http-cache-semantics compares them byte for byte).
 */
import { createHash } from 'node:crypto';

/** The field names a Vary value lists: lower case, sorted, without duplicates; ['*'] for "*". */
export function varyFields(vary: string | undefined): string[] {
  if (vary === undefined) return [];
  const names = vary.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.includes('*')) return ['*'];
  return [...new Set(names)].sort();
}

/** A request field value as compared for Vary: list members trimmed, lower-cased and sorted. */
export function normaliseVaryValue(value: string | undefined): string {
  if (value === undefined) return '';
  return value.split(',').map((member) => member.trim().replace(/\s+/g, ' ').toLowerCase()).filter((m) => m !== '').sort().join(', ');
}

/** The request fields named by `fields`, normalised; absent fields map to ''. */
export function varyValues(fields: readonly string[], header: (name: string) => string | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of fields) values[field] = normaliseVaryValue(header(field));
  return values;
}

/** Names the stored variant of one set of Vary values ("" when the response has no Vary). */
export function variantId(fields: readonly string[], header: (name: string) => string | undefined): string {
  if (fields.length === 0) return '';
  const values = varyValues(fields, header);
  const text = fields.map((field) => `${field}:${values[field]}`).join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
