/**
 * The one table of command-line options. Flag names, short aliases, env var
 * names, defaults, parsers and help text all come from here, so the parser, the
 * help screen and the docs cannot drift apart.
 */
import type { Config, HostBalance, TraceMode } from './types.js';
import { durationMs } from './duration.js';
import { parseListenAddress } from './listen.js';
import type { Parser } from './result.js';
import { integerIn, oneOf, parseBool, parseHealthPath } from './values.js';
import { TLS_VERSIONS, parseFile, parseHostList } from '../tls/values.js';
import { parseDnsServers } from './dns-servers.js';
import { hostname } from 'node:os';
import { parseClusterName, parseGossipAddress, parseGossipKey, parseNodeName, parseSeed } from '../gossip/values.js';
import { parseHashKey } from '../balance/hash-key.js';
import { parseSplit } from '../balance/split.js';
import { parseBalanceFactor, parseCookieName } from '../balance/option-values.js';
import { parseRateLimits } from '../limit/rate-spec.js';
import { parseMirrorSite, parseShare } from '../mirror/option-values.js';
import { API_ADDRESS, parseApiAddress, parseDockerSocket, parseListenHost, parseListenerUrl, parseService, parseStaticConfigFile } from '../catalog/option-values.js';
import { parseBucket, parseByteSize, parseCacheEndpoint, parseKeyPrefix, parseSecretText } from '../cache/option-values.js';

/** Config fields that options fill; the sites come from positional arguments. */
export type OptionKey = Exclude<keyof Config, 'sites' | 'siteArgs'>;

interface Described {
  readonly long: string;
  readonly short?: string;
  readonly help: string;
  /** A second env var read when OUTRIGGER_* is unset (sidekick's SIDEKICK_CACHE_* names). */
  readonly legacyEnv?: string;
}

/**
 * bool: bare flag means true, "=false" allowed. string: takes a value. optional:
 * the value may be omitted (then `bare` is used); a separate next argument is
 * taken only if the parser accepts it. repeatable: every occurrence adds an item.
 */
export interface SingleOption<T> extends Described {
  readonly kind: 'bool' | 'string' | 'optional';
  readonly default: T;
  readonly parse: Parser<T>;
  /** For kind 'optional': the flag alone means this text. */
  readonly bareText?: string;
  /** When not given, take the resolved value of this other option instead of `default`. */
  readonly defaultFrom?: OptionKey;
  /** How the default reads in help, when JSON of `default` would not say it well. */
  readonly defaultText?: string;
  readonly valueName?: string;
}

export interface ListOption<T> extends Described {
  readonly kind: 'repeatable';
  readonly default: readonly T[];
  readonly parse: Parser<T>;
  readonly valueName?: string;
}

/** --help and --version stop parsing and fill no Config field. */
export interface ActionOption extends Described {
  readonly kind: 'action';
}

// The tuple wrapper stops `boolean` from distributing into true | false.
type OptionFor<T> = [T] extends [readonly (infer E)[]] ? ListOption<E> : SingleOption<T>;
type OptionTable = { readonly [K in OptionKey]: OptionFor<Config[K]> } & {
  readonly help: ActionOption;
  readonly version: ActionOption;
};

const HOST_BALANCE: readonly HostBalance[] = ['least', 'random', 'round-robin', 'hash'];
const TRACE_MODES: readonly TraceMode[] = ['all', 'application', 'minio'];
const count = integerIn(1, Number.MAX_SAFE_INTEGER);
const flag = (long: string, help: string, short?: string): SingleOption<boolean> =>
  ({ long, short, kind: 'bool', default: false, parse: parseBool, help });
/** A PEM file path, read once at start (src/tls). */
const file = (long: string, help: string, defaultText = 'none'): SingleOption<string | undefined> =>
  ({ long, kind: 'string', default: undefined, defaultText, parse: parseFile, valueName: 'FILE', help });

/** A count that turns a feature on: 0 (the default) leaves it off. */
const countOrOff = (long: string, help: string): SingleOption<number> =>
  ({ long, kind: 'string', default: 0, defaultText: 'off', parse: integerIn(0, Number.MAX_SAFE_INTEGER), valueName: 'N', help });
/** A feature switched on by giving its value: off (undefined) by default. */
const offUnlessGiven = <T>(long: string, parse: Parser<T>, valueName: string, help: string): SingleOption<T | undefined> =>
  ({ long, kind: 'string', default: undefined, defaultText: 'off', parse, valueName, help });
/** A duration in milliseconds, shown in whole seconds. */
const seconds = (long: string, ms: number, help: string): SingleOption<number> =>
  ({ long, kind: 'string', default: ms, defaultText: `${ms / 1000}s`, parse: durationMs({ allowZero: false }), valueName: 'DURATION', help });

/** Declared in help order. Mapped over OptionKey, so forgetting a Config field fails to compile. */
export const OPTION_TABLE: OptionTable = {
  address: {
    long: 'address', short: 'a', kind: 'string', default: { host: '', port: 8080 }, defaultText: ':8080',
    parse: parseListenAddress, valueName: 'ADDR', help: 'listening address for outrigger',
  },
  metricsAddress: {
    long: 'metrics-address', kind: 'string', default: undefined, defaultText: 'off',
    parse: parseListenAddress, valueName: 'ADDR', help: 'also serve /.prometheus/metrics on this address (host:port)',
  },
  healthPath: {
    long: 'health-path', short: 'p', kind: 'string', default: '/', parse: parseHealthPath, valueName: 'PATH',
    help: 'health check path probed on every backend',
  },
  readHealthPath: {
    long: 'read-health-path', short: 'r', kind: 'string', default: '/', defaultFrom: 'healthPath',
    defaultText: 'the health path', parse: parseHealthPath, valueName: 'PATH',
    help: 'health check path for the last site (a read-only failover site)',
  },
  healthPort: {
    long: 'health-port', kind: 'string', default: 0, defaultText: "the backend's port",
    parse: integerIn(0, 65535), valueName: 'PORT', help: 'probe this port instead of each backend\'s own',
  },
  healthDuration: {
    long: 'health-duration', short: 'd', kind: 'string', default: 5000, defaultText: '5s',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'health check interval (5, 5s, 500ms, 1m)',
  },
  healthTimeout: {
    long: 'health-timeout', kind: 'string', default: 2_000, defaultText: '2s',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'timeout of one health check',
  },
  healthOptimistic: flag('health-optimistic', 'stop probing healthy backends until a request to one fails'),
  healthRise: {
    long: 'health-rise', kind: 'string', default: 1, parse: count, valueName: 'N',
    help: 'consecutive good checks that bring a backend online',
  },
  healthFall: {
    long: 'health-fall', kind: 'string', default: 1, parse: count, valueName: 'N',
    help: 'consecutive failed checks that take a backend offline',
  },
  insecure: flag('insecure', 'do not verify backend TLS certificates', 'i'),
  // TLS (src/tls).
  cert: file('cert', 'serve TLS with this certificate (PEM chain), reloaded on change', 'plain HTTP'),
  key: file('key', 'private key (PEM) of --cert'),
  autoTlsHosts: {
    long: 'auto-tls-host', kind: 'string', default: undefined, defaultText: 'off', parse: parseHostList, valueName: 'HOSTS',
    help: 'serve TLS, self-signed for these names/IPs; PEM: /v1/certificates',
  },
  tlsMax: {
    long: 'tls-max', kind: 'string', default: '1.3', parse: oneOf(TLS_VERSIONS), valueName: 'VERSION',
    help: `highest TLS version served: ${TLS_VERSIONS.join(' or ')}`,
  },
  cacert: file('cacert', 'CA certificates (PEM) for https backends, added to built-in roots', 'built-in roots'),
  clientCert: file('client-cert', 'client certificate (PEM) for https backends (mutual TLS)'),
  clientKey: file('client-key', 'private key (PEM) of --client-cert'),
  hostBalance: {
    long: 'host-balance', kind: 'string', default: 'least', parse: oneOf(HOST_BALANCE), valueName: 'MODE',
    help: `how to pick a backend in a site: ${HOST_BALANCE.join(', ')}`,
  },
  maxRetries: {
    // The default is applied in app.ts: as many retries as the largest site has backends.
    long: 'max-retries', kind: 'string', default: undefined, defaultText: 'size of the largest site',
    parse: integerIn(0, Number.MAX_SAFE_INTEGER), valueName: 'N', help: 'retries of a failed request on other backends and sites',
  },
  shutdownTimeout: {
    long: 'shutdown-timeout', kind: 'string', default: 30_000, defaultText: '30s',
    parse: durationMs({ allowZero: true }), valueName: 'DURATION', help: 'on SIGTERM, wait this long for requests in flight',
  },
  connectTimeout: {
    long: 'connect-timeout', kind: 'string', default: 10_000, defaultText: '10s',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'a connection to a backend must open within this time',
  },
  responseTimeout: {
    long: 'response-timeout', kind: 'string', default: 60_000, defaultText: '60s',
    parse: durationMs({ allowZero: true }), valueName: 'DURATION',
    help: '504 when a backend has not started its answer by then (0: off)',
  },
  readTimeout: {
    long: 'read-timeout', kind: 'string', default: 60_000, defaultText: '60s',
    parse: durationMs({ allowZero: true }), valueName: 'DURATION',
    help: 'cut a response or request body stalled this long (0: off)',
  },
  headerTimeout: {
    long: 'header-timeout', kind: 'string', default: 30_000, defaultText: '30s',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'a client must send a whole request head within this time',
  },
  idleTimeout: {
    long: 'idle-timeout', kind: 'string', default: 60_000, defaultText: '60s',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'close client connections idle between requests this long',
  },
  workers: {
    long: 'workers', kind: 'string', default: 1, parse: integerIn(1, 256), valueName: 'N',
    help: 'worker processes sharing the listen address (use several cores)',
  },
  log: flag('log', 'log backend up/down transitions', 'l'),
  trace: {
    long: 'trace', short: 't', kind: 'optional', default: undefined, bareText: 'all', defaultText: 'off',
    parse: oneOf(TRACE_MODES), valueName: 'MODE', help: `trace requests: ${TRACE_MODES.join(', ')} (bare flag: all)`,
  },
  errors: flag('errors', 'trace only requests answered with 4xx or 5xx', 'e'),
  statusCodes: {
    long: 'status-code', kind: 'repeatable', default: [], parse: integerIn(100, 599), valueName: 'CODE',
    help: 'trace only this status (repeatable; in env: 500,502)',
  },
  quiet: flag('quiet', 'no console output', 'q'),
  json: flag('json', 'print logs and traces as JSON lines'),
  debug: flag('debug', 'full request/response traces (credentials redacted)'),
  debugRaw: flag('debug-raw', 'traces print credentials unredacted'),
  sitesFile: {
    long: 'sites-file', kind: 'string', default: undefined, defaultText: 'none', parse: parseFile, valueName: 'FILE',
    help: 'SITEs one per line (# comments); re-read on change and SIGHUP',
  },
  // Backend name resolution (src/discovery).
  dnsTtl: {
    long: 'dns-ttl', kind: 'string', default: 600_000, defaultText: '10m',
    parse: durationMs({ allowZero: false }), valueName: 'DURATION', help: 'how often backend host names are resolved again',
  },
  rrDnsMode: flag('rr-dns-mode', 'one backend per address even for a name with only one'),
  dnsServers: {
    long: 'dns-server', kind: 'repeatable', default: [], parse: parseDnsServers, valueName: 'IP:PORT',
    help: 'use this DNS server for backend names (repeatable, or a,b)',
  },
  // Shared HTTP cache on an S3 store (src/cache); off unless --cache-endpoint is given.
  cacheEndpoint: {
    long: 'cache-endpoint', kind: 'string', default: undefined, defaultText: 'off', parse: parseCacheEndpoint, valueName: 'URL',
    legacyEnv: 'SIDEKICK_CACHE_ENDPOINT', help: 'S3 endpoint of the shared cache (http[s]://host:port): cache on',
  },
  cacheAccessKey: {
    long: 'cache-access-key', kind: 'string', default: undefined, defaultText: 'none', parse: parseSecretText('the cache access key'),
    valueName: 'KEY', legacyEnv: 'SIDEKICK_CACHE_ACCESS_KEY', help: 'access key of the cache store',
  },
  cacheSecretKey: {
    long: 'cache-secret-key', kind: 'string', default: undefined, defaultText: 'none', parse: parseSecretText('the cache secret key'),
    valueName: 'KEY', legacyEnv: 'SIDEKICK_CACHE_SECRET_KEY', help: 'secret key of the cache store (prefer the env var to argv)',
  },
  cacheBucket: {
    long: 'cache-bucket', kind: 'string', default: undefined, defaultText: 'none', parse: parseBucket, valueName: 'NAME',
    legacyEnv: 'SIDEKICK_CACHE_BUCKET', help: 'bucket holding the cache (must exist)',
  },
  cacheRegion: {
    long: 'cache-region', kind: 'string', default: 'us-east-1', parse: parseSecretText('the cache region'), valueName: 'REGION',
    help: 'region of the cache store (SigV4)',
  },
  cachePrefix: {
    long: 'cache-prefix', kind: 'string', default: '', defaultText: 'none', parse: parseKeyPrefix, valueName: 'PREFIX',
    help: 'key prefix of cache objects in the bucket',
  },
  cacheMinSize: {
    long: 'cache-min-size', kind: 'string', default: 1024 * 1024, defaultText: '1MiB', parse: parseByteSize, valueName: 'SIZE',
    legacyEnv: 'SIDEKICK_CACHE_MIN_SIZE', help: 'smallest body stored (64MB, 32MiB; 0: any cacheable one)',
  },
  cacheHealthDuration: {
    long: 'cache-health-duration', kind: 'string', default: 60_000, defaultText: '60s', parse: durationMs({ allowZero: false }),
    valueName: 'DURATION', legacyEnv: 'SIDEKICK_CACHE_HEALTH_DURATION', help: 'how often the cache store is probed (HeadBucket)',
  },
  cacheMemory: {
    long: 'cache-memory', kind: 'string', default: 64 * 1024 * 1024, defaultText: '64MiB', parse: parseByteSize, valueName: 'SIZE',
    help: 'memory tier for small hot objects in front of the store (0: off)',
  },
  cacheReadAhead: {
    long: 'cache-read-ahead', kind: 'string', default: 128 * 1024 * 1024, defaultText: '128MiB', parse: parseByteSize, valueName: 'SIZE',
    help: 'memory for reading large hits ahead, all hits together (0: off)',
  },
  cacheServeStaleOnError: {
    long: 'cache-serve-stale-on-error', kind: 'string', default: 0, defaultText: 'off', parse: durationMs({ allowZero: true }),
    valueName: 'DURATION', help: 'when no backend answers, serve entries stale by up to this long',
  },
  cacheLookupTimeout: {
    long: 'cache-lookup-timeout', kind: 'string', default: 1000, defaultText: '1s', parse: durationMs({ allowZero: true }),
    valueName: 'DURATION', help: 'wait this long for the store, then go to the backend',
  },
  cachePassTtl: {
    long: 'cache-pass-ttl', kind: 'string', default: 60_000, defaultText: '60s', parse: durationMs({ allowZero: true }),
    valueName: 'DURATION', help: 'a URL whose answer was not stored skips lookups this long',
  },
  cacheIndex: {
    long: 'cache-index', kind: 'string', default: 0, defaultText: 'off', parse: durationMs({ allowZero: true }),
    valueName: 'DURATION', help: 'list the store this often to skip lookups of URLs it lacks',
  },
  cacheIndexMax: {
    long: 'cache-index-max', kind: 'string', default: 1_000_000, defaultText: '1000000', parse: integerIn(1, 50_000_000), valueName: 'N',
    help: 'URL directories --cache-index holds; a bucket with more: no index',
  },
  cacheQuickAbortMin: {
    long: 'cache-quick-abort-min', kind: 'string', default: 1024 * 1024, defaultText: '1MiB', parse: parseByteSize, valueName: 'SIZE',
    help: 'client gone mid-fill: finish it when at most this is left',
  },
  cacheQuickAbortMax: {
    long: 'cache-quick-abort-max', kind: 'string', default: 64 * 1024 * 1024, defaultText: '64MiB', parse: parseByteSize, valueName: 'SIZE',
    help: 'client gone mid-fill: abort it when more than this is left',
  },
  cacheQuickAbortPct: {
    long: 'cache-quick-abort-pct', kind: 'string', default: 75, parse: integerIn(0, 100), valueName: 'PERCENT',
    help: 'client gone mid-fill: in between, finish once this % was read',
  },
  // Gossip membership (src/gossip), wire-compatible with HashiCorp memberlist; off unless bound or joining.
  gossipBind: {
    long: 'gossip-bind', kind: 'string', default: undefined, defaultText: 'off', parse: parseGossipAddress,
    valueName: 'ADDR', help: 'gossip on this UDP+TCP address (port 7946 if left out)',
  },
  gossipAdvertise: {
    long: 'gossip-advertise', kind: 'string', default: undefined, defaultText: 'bind address', parse: parseGossipAddress,
    valueName: 'ADDR', help: 'address other members use to reach this one',
  },
  join: {
    long: 'join', kind: 'repeatable', default: [], parse: parseSeed, valueName: 'HOST:PORT', legacyEnv: 'SIDECAR_SEEDS',
    help: 'gossip seed to join, retried until one answers',
  },
  clusterName: {
    long: 'cluster-name', kind: 'string', default: undefined, defaultText: 'none', parse: parseClusterName, valueName: 'NAME',
    help: 'refuse members of other clusters (memberlist label)',
  },
  nodeName: {
    long: 'node-name', kind: 'string', default: hostname(), defaultText: 'the host name', parse: parseNodeName, valueName: 'NAME',
    help: 'this member\'s name in the cluster',
  },
  gossipKeys: {
    long: 'gossip-key', kind: 'repeatable', default: [], parse: parseGossipKey, valueName: 'KEY',
    help: 'AES key, base64 or hex (repeat to rotate: first encrypts)',
  },
  gossipProfile: {
    long: 'gossip-profile', kind: 'string', default: 'lan', parse: oneOf(['lan', 'wan'] as const), valueName: 'PROFILE',
    help: 'memberlist timings: lan (DefaultLANConfig) or wan',
  },
  // The service catalog (src/catalog), Sidecar's: on with gossip, --service, a static file or a sidecar:// SITE.
  apiAddress: {
    long: 'api-address', kind: 'string', default: API_ADDRESS, defaultText: '127.0.0.1:7777', parse: parseApiAddress,
    valueName: 'ADDR', help: 'catalog API and dashboard (/ui/) when the catalog runs; off: none',
  },
  services: {
    long: 'service', kind: 'repeatable', default: [], parse: parseService, valueName: 'NAME=URL',
    help: 'announce a local service, checked by GET of URL (repeatable)',
  },
  staticConfigFile: {
    long: 'static-config-file', kind: 'string', default: undefined, defaultText: 'none', parse: parseStaticConfigFile,
    valueName: 'FILE', legacyEnv: 'STATIC_CONFIG_FILE', help: 'local services in Sidecar\'s static JSON; watched',
  },
  listenerUrls: {
    long: 'listener-url', kind: 'repeatable', default: [], parse: parseListenerUrl, valueName: 'URL', legacyEnv: 'LISTENERS_URLS',
    help: 'POST the catalog state here on every change (repeatable)',
  },
  serviceCheckInterval: seconds('service-check-interval', 3_000, 'how often local services are checked'),
  docker: flag('docker', 'discover containers by Sidecar\'s labels via DOCKER_HOST\'s engine'),
  dockerSocket: offUnlessGiven('docker-socket', parseDockerSocket, 'ADDRESS', '--docker via this engine: PATH, unix://PATH or tcp://HOST:PORT'),
  serviceListeners: offUnlessGiven('service-listeners', parseListenHost, 'IP', 'a port per catalog ServicePort on this IP (HTTP or TCP relay)'),
  // Ambassador features: sharding, stickiness, splitting, rate limits, outlier ejection, shadowing.
  hashKey: {
    long: 'hash-key', kind: 'string', default: undefined, defaultText: 'client', parse: parseHashKey, valueName: 'KEY',
    help: 'hash on: header:NAME, cookie:NAME, query:NAME, client or path',
  },
  hashBalanceFactor: {
    long: 'hash-balance-factor', kind: 'string', default: 0, defaultText: 'off', parse: parseBalanceFactor, valueName: 'C',
    help: 'bounded loads: no backend above C × the average in flight (1.25)',
  },
  stickyCookie: offUnlessGiven('sticky-cookie', parseCookieName, 'NAME', 'pin clients to a backend by this cookie (else hashing)'),
  split: offUnlessGiven('split', parseSplit, 'W/W', 'weights per site (95/5): split across sites, then fail over'),
  rateLimit: offUnlessGiven('rate-limit', parseRateLimits, 'RULES', '100/s,burst=200[,by=header:NAME][,prefix=/p], rules split by ;'),
  maxConnsPerClient: countOrOff('max-conns-per-client', 'open connections allowed per client address'),
  outlier5xx: countOrOff('outlier-5xx', 'eject a backend after N consecutive 5xx answers'),
  outlierGateway: countOrOff('outlier-gateway', 'eject after N consecutive 502/503/504 or failed attempts'),
  outlierSuccessRate: {
    long: 'outlier-success-rate', kind: 'string', default: 0, defaultText: 'off', parse: parseBalanceFactor, valueName: 'STDEV',
    help: 'eject a backend this many std devs below its site\'s success rate',
  },
  outlierInterval: seconds('outlier-interval', 10_000, 'how often ejections are reviewed (returns, success rates)'),
  outlierEjection: seconds('outlier-ejection', 30_000, 'first ejection time; each further one adds as much'),
  outlierMaxEjection: seconds('outlier-max-ejection', 300_000, 'longest ejection'),
  outlierMaxShare: {
    long: 'outlier-max-share', kind: 'string', default: 0.5, defaultText: '50%', parse: parseShare, valueName: 'SHARE',
    help: 'never eject more than this share of a site',
  },
  mirror: offUnlessGiven('mirror', parseMirrorSite, 'SITE', 'also send requests to this site; its answers are dropped'),
  mirrorSample: {
    long: 'mirror-sample', kind: 'string', default: 1, defaultText: '100%', parse: parseShare, valueName: 'SHARE',
    help: 'share of requests mirrored (0.1 or 10%)',
  },
  mirrorBodyLimit: {
    long: 'mirror-body-limit', kind: 'string', default: 1024 * 1024, defaultText: '1MiB', parse: parseByteSize, valueName: 'SIZE',
    help: 'requests with a larger body are not mirrored',
  },
  help: { long: 'help', short: 'h', kind: 'action', help: 'show help' },
  version: { long: 'version', short: 'v', kind: 'action', help: 'print the version' },
};

/** One row of the table with its types erased, for code that walks every option. */
export type AnyOption = (SingleOption<unknown> | ListOption<unknown> | ActionOption) & {
  /** The Config field filled, or 'help' / 'version' for actions. */
  readonly key: OptionKey | 'help' | 'version';
  /** The env var, derived from the long name; undefined for actions. */
  readonly env: string | undefined;
};

/** "health-path" -> "OUTRIGGER_HEALTH_PATH". */
export function envName(long: string): string {
  return `OUTRIGGER_${long.toUpperCase().replaceAll('-', '_')}`;
}

/** Positional SITEs fall back to this env var, space-separated. */
export const SITES_ENV = 'OUTRIGGER_SITES';

export const OPTIONS: readonly AnyOption[] = Object.entries(OPTION_TABLE).map(([key, spec]) => ({
  ...spec,
  key: key as AnyOption['key'],
  env: spec.kind === 'action' ? undefined : envName(spec.long),
}));

const BY_NAME = new Map<string, AnyOption>();
for (const option of OPTIONS) {
  BY_NAME.set(option.long, option);
  if (option.short !== undefined) BY_NAME.set(option.short, option);
}

/**
 * Finds an option by long name or short alias. Go's flag package treats "-name"
 * and "--name" alike, so both spellings reach both names here.
 */
export function findOption(name: string): AnyOption | undefined {
  return BY_NAME.get(name);
}
