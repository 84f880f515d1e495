/** Byte sizes as sidekick's users write them ("64MB", "32MiB", "1048576"), parsed like go-humanize's ParseBytes. */
import { fail, ok, type Result } from '../config/result.js';

const SI = 1000;
const IEC = 1024;
/** Lower-case unit -> multiplier. As in go-humanize, "k"/"kb" are decimal and "ki"/"kib" binary. */
const UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1], ['b', 1],
  ['k', SI], ['kb', SI], ['ki', IEC], ['kib', IEC],
  ['m', SI ** 2], ['mb', SI ** 2], ['mi', IEC ** 2], ['mib', IEC ** 2],
  ['g', SI ** 3], ['gb', SI ** 3], ['gi', IEC ** 3], ['gib', IEC ** 3],
  ['t', SI ** 4], ['tb', SI ** 4], ['ti', IEC ** 4], ['tib', IEC ** 4],
]);

/** A whole number of bytes, at most 2^53; fractions are allowed in the text ("1.5GiB") and rounded down. */
export function parseByteSize(text: string): Result<number> {
  const match = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match === null ? undefined : UNITS.get((match[2] ?? '').toLowerCase());
  if (match === null || unit === undefined) {
    return fail(`${JSON.stringify(text)} is not a size (use bytes or a unit: 64MB, 32MiB, 1GiB)`);
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) return fail(`${JSON.stringify(text)} is too large`);
  return ok(bytes);
}

/** "1048576" -> "1 MiB", for help texts and logs. */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [['GiB', IEC ** 3], ['MiB', IEC ** 2], ['KiB', IEC]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}
