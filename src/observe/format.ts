/** Small formatting helpers shared by the text log, the trace and the live view. */

/** A duration the way Go prints one (sidekick's traces do): 850µs, 12.5ms, 3.2s, 1m4s. */
export function goDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${trim(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${trim(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${trim(s - m * 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${trim(s - m * 60)}s`;
}

function trim(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** Bytes as 1.5 KiB / 3.0 MiB. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(1)}${units[u]}`;
}
