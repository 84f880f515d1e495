/**
 * Ellipsis expansion of SITE arguments, compatible with MinIO's pkg/ellipses
 * (which sidekick uses): "http://minio{1...4}:9000" names four backends.
 *
 * Returns a Result rather than throwing: a bad pattern is a user error, and the
 * caller collects every user error before reporting.
 */
import { fail, ok, type Result } from '../config/result.js';

/** More backends than this is surely a typo ({1...100000}), and would only exhaust memory. */
export const MAX_EXPANSION = 65_536;

interface Range {
  readonly start: bigint;
  readonly size: bigint;
  readonly radix: 10 | 16;
  /** Zero-pad to this many characters (0: no padding). */
  readonly width: number;
}

/** The pattern split into literal text and ranges: literals[i] comes before ranges[i]; one more literal ends it. */
interface Template {
  readonly literals: readonly string[];
  readonly ranges: readonly Range[];
}

/**
 * Expands every {a...b} in `pattern`. With several ranges, the result is their
 * cartesian product with the LEFTMOST range varying fastest, as in MinIO:
 * "h{1...2}.r{1...2}" gives h1.r1, h2.r1, h1.r2, h2.r2. No range: [pattern].
 */
export function expandEllipsis(pattern: string): Result<string[]> {
  const template = parseTemplate(pattern);
  if (!template.ok) return template;
  const { literals, ranges } = template.value;
  const total = ranges.reduce((product, range) => product * range.size, 1n);
  if (total > BigInt(MAX_EXPANSION)) {
    return fail(`expands to ${total} names, more than the limit of ${MAX_EXPANSION}`);
  }
  const names: string[] = [];
  for (let n = 0n; n < total; n += 1n) {
    let rest = n;
    let name = literals[0] ?? '';
    ranges.forEach((range, i) => {
      // Mixed-radix counting with the leftmost range as the least significant digit.
      name += format(range, range.start + (rest % range.size)) + (literals[i + 1] ?? '');
      rest /= range.size;
    });
    names.push(name);
  }
  return ok(names);
}

function format(range: Range, value: bigint): string {
  return value.toString(range.radix).padStart(range.width, '0');
}

/** Finds the {...} groups; any brace that does not belong to one is an error, never a literal. */
function parseTemplate(pattern: string): Result<Template> {
  const literals: string[] = [];
  const ranges: Range[] = [];
  let from = 0;
  for (;;) {
    const open = pattern.indexOf('{', from);
    const stray = pattern.indexOf('}', from);
    if (stray >= 0 && (open < 0 || stray < open)) return fail(`stray "}" at position ${stray + 1}`);
    if (open < 0) break;
    const close = pattern.indexOf('}', open);
    const nested = pattern.indexOf('{', open + 1);
    if (close < 0 || (nested >= 0 && nested < close)) return fail(`unbalanced "{" at position ${open + 1}`);
    const range = parseRange(pattern.slice(open + 1, close));
    if (!range.ok) return range;
    literals.push(pattern.slice(from, open));
    ranges.push(range.value);
    from = close + 1;
  }
  literals.push(pattern.slice(from));
  return ok({ literals, ranges });
}

/** Parses the inside of "{a...b}". */
function parseRange(body: string): Result<Range> {
  const shown = `{${body}}`;
  const bounds = body.split('...');
  if (bounds.length !== 2) {
    if (bounds.length > 2) return fail(`"${shown}" has more than one "..."`);
    if (body.includes('..')) return fail(`"${shown}" needs three dots: {${body.replace('..', '...')}}`);
    return fail(`"${shown}" is not a range like {1...4}`);
  }
  const [first = '', last = ''] = bounds;
  if (first === '' || last === '') return fail(`"${shown}" has an empty bound`);
  if (/[A-Z]/.test(body)) return fail(`"${shown}" has upper case: hex ranges are lower case, e.g. {a...f}`);
  const radix = radixOf(first, last);
  if (radix === undefined) return fail(`"${shown}": bounds must be decimal or lower-case hex numbers`);
  const start = BigInt(radix === 16 ? `0x${first}` : first);
  const end = BigInt(radix === 16 ? `0x${last}` : last);
  if (start > end) return fail(`"${shown}" is descending: the start must not exceed the end`);
  // MinIO pads to the END's width when either bound is written with a leading zero.
  const padded = (first.startsWith('0') && first.length > 1) || last.startsWith('0');
  return ok({ start, size: end - start + 1n, radix, width: padded ? last.length : 0 });
}

/**
 * Decimal when both bounds are; otherwise hex when both are. MinIO instead falls
 * back to hex per bound, so "{10...1f}" starts at decimal 10 (printed "a"); reading
 * both bounds in one base gives the "10..1f" that anyone writing it means.
 */
function radixOf(first: string, last: string): 10 | 16 | undefined {
  if (/^[0-9]+$/.test(first) && /^[0-9]+$/.test(last)) return 10;
  if (/^[0-9a-f]+$/.test(first) && /^[0-9a-f]+$/.test(last)) return 16;
  return undefined;
}
