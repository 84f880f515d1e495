/** The usage screen, generated from the option table so it always matches the parser. */
import { OPTIONS, SITES_ENV, type AnyOption } from './options.js';

const SITE_TEXT = `SITE:
  Each SITE is a group of backends; SITEs are tried in the order given (failover):
  the first SITE with a backend online takes the request.
  Commas split a SITE into zones whose backends are pooled together.
  A URL without a scheme means http://; only http and https are supported.
  Ellipsis {a...b} expands to a range: {1...4} gives 1 2 3 4, {01...16} keeps
  the zero padding, {8...b} counts in lower-case hex. Several ranges in one URL
  give every combination.
  Without a SITE argument, $${SITES_ENV} (space-separated) is used.`;

const EXAMPLES = `EXAMPLES:
  1. Load balance across 4 MinIO servers (http://minio1:9000 to http://minio4:9000)
     $ outrigger --health-path /minio/health/ready --address :8000 http://minio{1...4}:9000

  2. Two zones pooled together, failing over to a read-only DR site
     $ outrigger -p /minio/health/ready -r /minio/health/cluster/read \\
         http://z1-minio{1...4}:9000,http://z2-minio{1...4}:9000 https://dr-minio{1...4}:9000`;

const MAX_FLAG_COLUMN = 30;

/** "--address, -a ADDR", "--trace, -t[=MODE]", "--insecure, -i" */
function flagColumn(option: AnyOption): string {
  const names = option.short === undefined ? `--${option.long}` : `--${option.long}, -${option.short}`;
  const valueName = option.kind === 'bool' || option.kind === 'action' ? '' : option.valueName ?? 'VALUE';
  if (valueName === '') return names;
  return option.kind === 'optional' ? `${names}[=${valueName}]` : `${names} ${valueName}`;
}

/**
 * The default and the env var go on a second line, so the screen fits 100 columns; sidekick's
 * env name, where an option has one, on a third.
 */
function details(option: AnyOption): string[] {
  const parts: string[] = [];
  if (option.kind === 'string' || option.kind === 'optional') {
    parts.push(`default: ${option.defaultText ?? String(option.default)}`);
  }
  if (option.env !== undefined) parts.push(`env: $${option.env}`);
  const lines = parts.length === 0 ? [] : [parts.join(', ')];
  if (option.legacyEnv !== undefined) lines.push(`or $${option.legacyEnv}`);
  return lines;
}

export function usageText(): string {
  const columns = OPTIONS.map(flagColumn);
  // A few long flags would push every help text right; they get their help on the next line instead.
  const width = Math.min(Math.max(...columns.map((column) => column.length)), MAX_FLAG_COLUMN) + 3;
  const flags = OPTIONS.map((option, i) => {
    const column = columns[i] ?? '';
    const first = column.length > MAX_FLAG_COLUMN
      ? `  ${column}\n  ${' '.repeat(width)}${option.help}`
      : `  ${column.padEnd(width)}${option.help}`;
    return [first, ...details(option)].join(`\n  ${' '.repeat(width)}`);
  }).join('\n');
  return [
    'NAME:\n  outrigger - a sidecar HTTP load balancer, a drop-in for minio/sidekick',
    'USAGE:\n  outrigger [FLAGS] SITE1 [SITE2..]',
    `FLAGS:\n${flags}`,
    SITE_TEXT,
    EXAMPLES,
  ].join('\n\n') + '\n';
}

/** Shown under error messages: enough to orient, without burying the errors under the whole help. */
export function shortUsage(): string {
  return 'USAGE:\n  outrigger [FLAGS] SITE1 [SITE2..]\n\nRun "outrigger --help" for the flags and examples.\n';
}
