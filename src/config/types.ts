/** The validated, frozen configuration that the rest of Outrigger reads. */

export type HostBalance = 'least' | 'random' | 'round-robin';
export type TraceMode = 'all' | 'application' | 'minio';
/** raw: hand-parsed HTTP/1.1 on net sockets (fast); node: node:http both ways (reference). */
export type EngineName = 'raw' | 'node';

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
}

export interface SiteSpec {
  /** 0-based position in failover order. */
  readonly index: number;
  /** The argument as given on the command line. */
  readonly source: string;
  readonly backends: readonly BackendSpec[];
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
  readonly hostBalance: HostBalance;
  /** Retries after the first attempt; undefined means "each backend of the site once". */
  readonly maxRetries: number | undefined;
  readonly shutdownTimeout: number;
  /** Worker processes (node:cluster) sharing the listen socket. */
  readonly workers: number;
  readonly engine: EngineName;
  readonly log: boolean;
  /** undefined: tracing off. */
  readonly trace: TraceMode | undefined;
  readonly errors: boolean;
  readonly statusCodes: readonly number[];
  readonly quiet: boolean;
  readonly json: boolean;
  readonly debug: boolean;
  readonly sites: readonly SiteSpec[];
  /** The SITE arguments as given, for SIGHUP reload. */
  readonly siteArgs: readonly string[];
}
