/** Turns raw flag texts and env vars into typed option values: command line first, then env, then default. */
import type { ArgvScan } from './argv.js';
import { OPTIONS, type AnyOption, type ListOption, type OptionKey, type SingleOption } from './options.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedOptions {
  readonly values: ReadonlyMap<OptionKey, unknown>;
  readonly errors: readonly string[];
  /** Options with at least one bad value (their value in `values` is then not to be trusted). */
  readonly failed: ReadonlySet<OptionKey>;
  /** Options set by the user (flag or env var), each with where it came from: "--x" or "OUTRIGGER_X". */
  readonly given: ReadonlyMap<OptionKey, string>;
}

/** Where a value came from, named in error messages: "--health-path" or "OUTRIGGER_HEALTH_PATH". */
interface Source {
  readonly label: string;
  readonly texts: readonly string[];
}

export function resolveOptions(given: ArgvScan['given'], env: Env): ResolvedOptions {
  const values = new Map<OptionKey, unknown>();
  const errors: string[] = [];
  const failed = new Set<OptionKey>();
  const givenBy = new Map<OptionKey, string>();
  const derived: Array<SingleOption<unknown> & AnyOption> = [];
  for (const option of OPTIONS) {
    if (option.kind === 'action') continue;
    const key = option.key as OptionKey;
    const source = sourceOf(option, given.get(key), env);
    if (source === undefined) {
      if (option.kind !== 'repeatable' && option.defaultFrom !== undefined) derived.push(option);
      values.set(key, option.default);
    } else {
      givenBy.set(key, source.label);
      const before = errors.length;
      values.set(key, parseSource(option, source, errors));
      if (errors.length > before) failed.add(key);
    }
  }
  // Second pass, so an option may default to another whatever their order in the table.
  for (const option of derived) values.set(option.key as OptionKey, values.get(option.defaultFrom as OptionKey));
  return { values, errors, failed, given: givenBy };
}

/** A flag given on the command line wins over its env var, which wins over a legacy one; an empty env var counts as unset. */
function sourceOf(option: AnyOption, cli: readonly string[] | undefined, env: Env): Source | undefined {
  if (cli !== undefined && cli.length > 0) return { label: `--${option.long}`, texts: cli };
  const name = [option.env, option.legacyEnv].find((n) => n !== undefined && (env[n] ?? '').trim() !== '');
  const text = name === undefined ? undefined : env[name];
  if (name === undefined || text === undefined) return undefined;
  if (option.kind !== 'repeatable') return { label: name, texts: [text] };
  // A list cannot be repeated in one env var, so it is comma-separated there.
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return { label: name, texts: items };
}

/** Parses every occurrence so each bad one is reported; for a single-valued option the last one wins, as in Go. */
function parseSource(option: SingleOption<unknown> | ListOption<unknown>, source: Source, errors: string[]): unknown {
  const parsed: unknown[] = [];
  for (const text of source.texts) {
    const result = option.parse(text);
    if (result.ok) parsed.push(result.value);
    else errors.push(`${source.label}: ${result.reason}`);
  }
  if (option.kind === 'repeatable') return parsed;
  return parsed.length > 0 ? parsed[parsed.length - 1] : option.default;
}
