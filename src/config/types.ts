/** The validated, frozen configuration that the rest of Outrigger reads. */
import type { TlsVersionName } from '../tls/values.js';
import type { HashKeySpec } from '../balance/hash-key.js';
import type { RateLimitRule } from '../limit/rate-spec.js';
import type { EngineAddress } from '../catalog/docker-engine.js';

export type HostBalance = 'least' | 'random' | 'round-robin' | 'hash';
export type TraceMode = 'all' | 'application' | 'minio';

export interface ListenAddress {
  /** '' means every interface (as in Go's ":8080"). */
  readonly host: string;
  readonly port: number;
}

export interface BackendSpec {
  /** The backend as configured and normalised: scheme://host[:port][/base], no trailing slash. The metrics `endpoint` label. */
  readonly url: string;
  readonly protocol: 'http:' | 'https:';
  /** Host name or IP literal, IPv6 without brackets. */
  readonly hostname: string;
  /** Explicit port, or the scheme's default (80/443). */
  readonly port: number;
  /** Path prefix from the URL ('' when none). */
  readonly basePath: string;
  /**
   * --rr-dns-mode: the one resolved IP this backend connects to (then `url` shows it, while
   * `hostname` stays the DNS name for TLS and health checks). Absent for configured backends.
   */
  readonly address?: string;
  /** Which backend source listed it ('argv', 'sites-file', ...); set by the membership merge. */
  readonly origin?: string;
}

/** `sidecar://NAME[:SERVICEPORT]`: the instances of a service in the catalog (src/catalog). */
export interface CatalogRef {
  readonly name: string;
  /** Only instances publishing this ServicePort; undefined: each instance's first TCP port. */
  readonly servicePort: number | undefined;
}

export interface SiteSpec {
  /** 0-based position in failover order. */
  readonly index: number;
  /** The argument as given on the command line. */
  readonly source: string;
  readonly backends: readonly BackendSpec[];
  /** Catalog services whose ALIVE instances join this site's backends (filled by the catalog source). */
  readonly catalog?: readonly CatalogRef[];
}

/** `--service NAME=URL`: a local service, checked by GET of the URL. */
export interface ServiceFlag {
  readonly name: string;
  readonly url: string;
}

export interface Config {
  readonly address: ListenAddress;
  /** A separate listener for /.prometheus/metrics; undefined: only the main port serves it. */
  readonly metricsAddress: ListenAddress | undefined;
  readonly healthPath: string;
  /** Health path of the last site. */
  readonly readHealthPath: string;
  /** 0 keeps each backend's own port. */
  readonly healthPort: number;
  /** Milliseconds. */
  readonly healthDuration: number;
  readonly healthTimeout: number;
  readonly healthOptimistic: boolean;
  readonly healthRise: number;
  readonly healthFall: number;
  readonly insecure: boolean;
  // TLS (src/tls): served with --cert/--key or --auto-tls-host; backends checked with --cacert, --client-cert/--client-key.
  /** Certificate (chain) PEM file to serve; reloaded when it changes. Needs `key`. */
  readonly cert: string | undefined;
  /** Private key PEM file of `cert`. */
  readonly key: string | undefined;
  /** Serve a self-signed certificate generated at start for these host names and IPs. */
  readonly autoTlsHosts: readonly string[] | undefined;
  /** Highest TLS version served. */
  readonly tlsMax: TlsVersionName;
  /** Extra CA certificates (PEM) trusted for https backends, added to the default roots. */
  readonly cacert: string | undefined;
  /** Client certificate and key (PEM) presented to https backends (mutual TLS); both or neither. */
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
  readonly hostBalance: HostBalance;
  /** Retries after the first attempt; undefined means "each backend of the site once". */
  readonly maxRetries: number | undefined;
  readonly shutdownTimeout: number;
  /** Milliseconds a connection to a backend may take to open. */
  readonly connectTimeout: number;
  /** Milliseconds a backend may take to start its answer once the request was sent; 0: no limit. */
  readonly responseTimeout: number;
  /** Milliseconds a response body may go without a byte from the backend; 0: no limit. */
  readonly readTimeout: number;
  /** Milliseconds a client may take to send a whole request head (slow-drip protection). */
  readonly headerTimeout: number;
  /** Milliseconds a keep-alive client connection may sit idle between requests. */
  readonly idleTimeout: number;
  /** Worker processes (node:cluster) sharing the listen socket. */
  readonly workers: number;
  readonly log: boolean;
  /** undefined: tracing off. */
  readonly trace: TraceMode | undefined;
  readonly errors: boolean;
  readonly statusCodes: readonly number[];
  readonly quiet: boolean;
  readonly json: boolean;
  readonly debug: boolean;
  /** Traces print credentials unredacted (headers with --debug, signatures in query strings). */
  readonly debugRaw: boolean;
  /** Milliseconds between re-resolutions of backend host names. */
  readonly dnsTtl: number;
  /** A site given as one DNS name becomes one backend per resolved address, following the answer. */
  readonly rrDnsMode: boolean;
  /** --dns-server: each occurrence a list of "ip:port"; none means the system resolver. */
  readonly dnsServers: readonly (readonly string[])[];
  // Shared HTTP cache (src/cache): on when cacheEndpoint is set.
  readonly cacheEndpoint: string | undefined;
  readonly cacheAccessKey: string | undefined;
  readonly cacheSecretKey: string | undefined;
  readonly cacheBucket: string | undefined;
  readonly cacheRegion: string;
  /** '' or ending in "/". */
  readonly cachePrefix: string;
  /** Bytes; 0 stores every cacheable response. */
  readonly cacheMinSize: number;
  /** Milliseconds between store probes. */
  readonly cacheHealthDuration: number;
  /** Bytes of the memory tier; 0 turns it off. */
  readonly cacheMemory: number;
  /** Bytes all large store-tier hits together may read ahead of their clients (src/cache/store/parted-body.ts); 0 turns it off. */
  readonly cacheReadAhead: number;
  /** Milliseconds of staleness allowed when every backend fails; 0: only what stale-if-error allows. */
  readonly cacheServeStaleOnError: number;
  /** Milliseconds a URL whose response was not stored skips the store lookup (src/cache/passes.ts); 0: off. */
  readonly cachePassTtl: number;
  /** Milliseconds between listings of the store for the index of its keys (src/cache/store-index.ts); 0: off. */
  readonly cacheIndex: number;
  /** URL directories the index may hold; a bucket with more abandons it. */
  readonly cacheIndexMax: number;
  /** Milliseconds a request waits for the store before it goes on without the cache (src/cache/deadline.ts); 0: no deadline. */
  readonly cacheLookupTimeout: number;
  /** What a fill does when its client leaves mid-body (src/cache/quick-abort.ts): bytes, bytes, percent. */
  readonly cacheQuickAbortMin: number;
  readonly cacheQuickAbortMax: number;
  readonly cacheQuickAbortPct: number;
  // Gossip membership (src/gossip): on when gossipBind or join is set.
  /** UDP+TCP address of the gossip member; undefined with no --join: gossip off. */
  readonly gossipBind: ListenAddress | undefined;
  /** Address other members reach us at; undefined: the bind address or the first private IPv4. */
  readonly gossipAdvertise: ListenAddress | undefined;
  /** Seeds to join (also SIDECAR_SEEDS, comma-separated). */
  readonly join: readonly ListenAddress[];
  /** memberlist label: members of another cluster are refused. undefined: none (memberlist 0.2.2 compatible). */
  readonly clusterName: string | undefined;
  readonly nodeName: string;
  /** Base64 or hex AES keys; the first encrypts, all decrypt (rotation). */
  readonly gossipKeys: readonly string[];
  readonly gossipProfile: 'lan' | 'wan';
  // Ambassador features (src/balance, src/limit, src/outlier, src/mirror): each off unless given.
  /** What --host-balance hash (and a sticky cookie's fallback, and a keyed split) hashes on. */
  readonly hashKey: HashKeySpec | undefined;
  /** Bounded loads: no backend above c × the average in flight; 0: off. */
  readonly hashBalanceFactor: number;
  /** Sticky sessions by this cookie, set by Outrigger. */
  readonly stickyCookie: string | undefined;
  /** Weights per site (--split 95/5): sites become weighted alternatives, then failover. */
  readonly split: readonly number[] | undefined;
  /** Token-bucket rules by path prefix. */
  readonly rateLimit: readonly RateLimitRule[] | undefined;
  /** Open connections per client address; 0: no cap. */
  readonly maxConnsPerClient: number;
  /** Outlier ejection thresholds (0: that check off). */
  readonly outlier5xx: number;
  readonly outlierGateway: number;
  readonly outlierSuccessRate: number;
  /** Milliseconds. */
  readonly outlierInterval: number;
  readonly outlierEjection: number;
  readonly outlierMaxEjection: number;
  /** 0..1 of a site. */
  readonly outlierMaxShare: number;
  /** A site that also gets a copy of (a share of) the requests; its answers are dropped. */
  readonly mirror: SiteSpec | undefined;
  /** 0..1. */
  readonly mirrorSample: number;
  /** Bytes of request body copied at most; larger requests are not mirrored. */
  readonly mirrorBodyLimit: number;
  // The service catalog (src/catalog): on with gossip, local services or a sidecar:// SITE.
  /** Sidecar's HTTP API and the dashboard; undefined: off. */
  readonly apiAddress: ListenAddress | undefined;
  /** --service NAME=URL, local services announced in the catalog. */
  readonly services: readonly ServiceFlag[];
  /** Sidecar's static discovery file (STATIC_CONFIG_FILE), watched. */
  readonly staticConfigFile: string | undefined;
  /** URLs POSTed the state on every catalog change (LISTENERS_URLS). */
  readonly listenerUrls: readonly string[];
  /** Milliseconds between checks of the local services (and Docker lists). */
  readonly serviceCheckInterval: number;
  /** --docker: discover containers through the Engine at DOCKER_HOST (else /var/run/docker.sock). */
  readonly docker: boolean;
  /**
   * The Docker Engine API (--docker-socket, else DOCKER_HOST when --docker is on): containers with
   * Sidecar's labels become local services; undefined: Docker discovery is off.
   */
  readonly dockerSocket: EngineAddress | undefined;
  /** --service-listeners: the address of the service ports (one per ServicePort in the catalog); undefined: none. */
  readonly serviceListeners: string | undefined;
  /** --sites-file: more SITEs, one per line, watched and re-read (src/sites/sites-file.ts). */
  readonly sitesFile: string | undefined;
  readonly sites: readonly SiteSpec[];
  /** The SITE arguments as given, for SIGHUP reload. */
  readonly siteArgs: readonly string[];
}
