/** Splits argv into flag occurrences and positional SITEs, without interpreting values yet. */
import { findOption, type AnyOption, type OptionKey } from './options.js';

export interface ArgvScan {
  /** Raw value texts per option, in command-line order. */
  readonly given: ReadonlyMap<OptionKey, readonly string[]>;
  readonly positionals: readonly string[];
  readonly help: boolean;
  readonly version: boolean;
  readonly errors: readonly string[];
}

interface Scanner {
  readonly given: Map<OptionKey, string[]>;
  readonly positionals: string[];
  readonly errors: string[];
  help: boolean;
  version: boolean;
}

/**
 * Accepts "--name value", "--name=value", "-n value", "-n=value" and Go's
 * single-dash long names ("-address :9000"); flags and SITEs may be interleaved;
 * "--" ends the flags. A lone "-" is positional, as in Go.
 */
export function scanArgv(argv: readonly string[]): ArgvScan {
  const s: Scanner = { given: new Map(), positionals: [], errors: [], help: false, version: false };
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    if (arg === '--') {
      s.positionals.push(...argv.slice(index + 1));
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      index += scanFlag(s, arg, argv[index + 1]);
    } else {
      s.positionals.push(arg);
      index += 1;
    }
  }
  return s;
}

/** Handles one flag; returns how many arguments it used (1, or 2 when it took the next one as its value). */
function scanFlag(s: Scanner, arg: string, next: string | undefined): number {
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const inline = eq < 0 ? undefined : body.slice(eq + 1);
  const option = findOption(name);
  if (option === undefined) {
    s.errors.push(`unknown flag ${arg.slice(0, arg.length - body.length)}${name}`);
    return 1;
  }
  if (option.kind === 'action') return scanAction(s, option, inline);
  if (inline !== undefined) return record(s, option, inline, 1);
  switch (option.kind) {
    case 'bool':
      // Go's flag package never takes a separate value for a bool: "-i site" must keep "site".
      return record(s, option, 'true', 1);
    case 'optional':
      // Take the next argument only if it is a valid value, so "-t http://minio:9000" keeps the SITE.
      if (next !== undefined && option.parse(next).ok) return record(s, option, next, 2);
      return record(s, option, option.bareText ?? '', 1);
    default:
      if (next === undefined) {
        s.errors.push(`--${option.long}: missing value`);
        return 1;
      }
      return record(s, option, next, 2);
  }
}

function scanAction(s: Scanner, option: AnyOption, inline: string | undefined): number {
  if (inline !== undefined) s.errors.push(`--${option.long}: takes no value`);
  else if (option.key === 'help') s.help = true;
  else s.version = true;
  return 1;
}

function record(s: Scanner, option: AnyOption, text: string, used: number): number {
  const key = option.key as OptionKey;
  const texts = s.given.get(key) ?? [];
  texts.push(text);
  s.given.set(key, texts);
  return used;
}
