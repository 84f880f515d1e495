/** The command line and environment -> a validated, deep-frozen Config (or help, version, or every error). */
import type { Config, ListenAddress } from './types.js';
import { scanArgv } from './argv.js';
import { deepFreeze } from './freeze.js';
import { shortUsage, usageText } from './help.js';
import { SITES_ENV } from './options.js';
import { resolveOptions, type Env, type ResolvedOptions } from './resolve.js';
import { parseSites } from '../sites/parse.js';
import { cacheOptionErrors } from '../cache/settings.js';
import { gossipOptionErrors } from '../gossip/settings.js';
import { ambassadorOptionErrors } from '../ambassador/option-rules.js';
import { catalogWanted } from '../catalog/runtime.js';
import { resolveEngine, type EngineAddress } from '../catalog/docker-engine.js';
import { ok, type Result } from './result.js';

export type ParseOutcome =
  | { readonly kind: 'config'; readonly config: Config }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly errors: string[]; readonly usage: string };

const NO_SITE = `no SITE given (pass one or more, set ${SITES_ENV}, or use --sites-file)`;

/**
 * Never throws for a user mistake: every problem (unknown flags, bad values from
 * flags or env, bad SITEs) is collected, one message each, and returned together.
 * --help and --version win over errors, as a user asking for help needs it most.
 */
export function parseCommandLine(argv: readonly string[], env: Env): ParseOutcome {
  const scan = scanArgv(argv);
  if (scan.help) return { kind: 'help', text: usageText() };
  if (scan.version) return { kind: 'version' };
  const options = resolveOptions(scan.given, env);
  const docker = dockerEngine(options, env);
  // The table is mapped over every option key (checked at compile time), so the values fill Config.
  const values = { ...Object.fromEntries(options.values), dockerSocket: docker.ok ? docker.value : undefined } as Omit<Config, 'sites' | 'siteArgs'>;
  const siteArgs = scan.positionals.length > 0 ? [...scan.positionals] : sitesFromEnv(env);
  const errors = [...scan.errors, ...options.errors, ...cacheOptionErrors(values), ...gossipOptionErrors(values)];
  if (!docker.ok) errors.push(docker.reason);
  if (siteArgs.length === 0 && options.values.get('sitesFile') === undefined) errors.push(NO_SITE);
  const { sites, errors: siteErrors } = parseSites(siteArgs, loopCheckAddress(options));
  errors.push(...siteErrors, ...ambassadorOptionErrors(options, { args: sites.length, sitesFile: options.values.get('sitesFile') !== undefined }));
  if (values.serviceListeners !== undefined && !catalogWanted({ ...values, sites })) {
    errors.push('--service-listeners needs the service catalog (--gossip-bind, --join, --service, --static-config-file, --docker, --docker-socket or a sidecar:// SITE)');
  }
  if (errors.length > 0) {
    // Like sidekick, a bare `outrigger` prints the full help; other mistakes get a short reminder.
    const usage = errors.length === 1 && errors[0] === NO_SITE ? usageText() : shortUsage();
    return { kind: 'error', errors, usage };
  }
  return { kind: 'config', config: deepFreeze({ ...values, sites, siteArgs }) };
}

/** --docker and --docker-socket with DOCKER_HOST and its TLS settings: the engine, or the error naming the bad value. */
function dockerEngine(options: ResolvedOptions, env: Env): Result<EngineAddress | undefined> {
  if (options.failed.has('dockerSocket')) return ok(undefined);
  return resolveEngine(options.values.get('dockerSocket') as EngineAddress | undefined, options.values.get('docker') === true, env);
}

function sitesFromEnv(env: Env): string[] {
  return (env[SITES_ENV] ?? '').split(/\s+/).filter((site) => site !== '');
}

/** With a bad --address, compare SITEs against port 0 (never a loop) rather than a default the user did not mean. */
function loopCheckAddress(options: ResolvedOptions): ListenAddress {
  if (options.failed.has('address')) return { host: '', port: 0 };
  return options.values.get('address') as ListenAddress;
}
