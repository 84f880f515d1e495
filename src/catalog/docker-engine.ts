/**
 * Where the Docker Engine API is and how to reach it, as the docker CLI reads it: `--docker-socket`
 * if given, else DOCKER_HOST, else unix:///var/run/docker.sock; `unix:///path` (or a bare path)
 * or `tcp://host:port`, with TLS for tcp when DOCKER_TLS_VERIFY is set (any non-empty value, as
 * for the CLI): the client certificate and the CA from DOCKER_CERT_PATH (else ~/.docker).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fail, ok, type Result } from '../config/result.js';

/** DOCKER_CERT_PATH's files, as the docker CLI names them. */
const TLS_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export type EngineAddress =
  | { readonly kind: 'unix'; readonly path: string }
  /** `certPath`: TLS with the files of that directory, verifying the engine's certificate; null: plain HTTP. */
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly certPath: string | null };

/** An engine address as --docker-socket takes it (a bare value is a socket path); TLS is added by resolveEngine. */
export function parseEngineAddress(text: string): Result<EngineAddress> {
  const t = text.trim();
  if (t === '') return fail('needs unix:///path or tcp://host:port');
  if (t.startsWith('unix://')) return t.length > 'unix://'.length ? ok({ kind: 'unix', path: t.slice('unix://'.length) }) : fail('unix:// needs a path');
  if (t.startsWith('tcp://')) return parseTcp(t);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) return fail(`${JSON.stringify(t)}: use unix:///path or tcp://host:port`);
  return ok({ kind: 'unix', path: t });
}

function parseTcp(t: string): Result<EngineAddress> {
  let url: URL;
  try {
    url = new URL(`http://${t.slice('tcp://'.length)}`);
  } catch {
    return fail(`${JSON.stringify(t)} is not tcp://host:port`);
  }
  if (url.hostname === '' || url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
    return fail(`${JSON.stringify(t)} is not tcp://host:port (the port is needed: 2375, or 2376 with TLS)`);
  }
  // URL keeps an IPv6 host in brackets; sockets want it bare.
  return ok({ kind: 'tcp', host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port), certPath: null });
}

/**
 * The engine to use, or null when Docker discovery is off (neither `--docker` nor `--docker-socket`).
 * A bad DOCKER_HOST, or a DOCKER_CERT_PATH without its files, is an error naming it.
 */
export function resolveEngine(flag: EngineAddress | undefined, wanted: boolean, env: Readonly<Record<string, string | undefined>>): Result<EngineAddress | undefined> {
  if (flag === undefined && !wanted) return ok(undefined);
  let address = flag;
  if (address === undefined) {
    const host = (env['DOCKER_HOST'] ?? '').trim();
    // As for the docker CLI, DOCKER_HOST without a scheme is a TCP address.
    const parsed = parseEngineAddress(host === '' ? 'unix:///var/run/docker.sock' : host.includes('://') ? host : `tcp://${host}`);
    if (!parsed.ok) return fail(`DOCKER_HOST: ${parsed.reason}`);
    address = parsed.value;
  }
  if (address.kind === 'unix' || (env['DOCKER_TLS_VERIFY'] ?? '') === '') return ok(address);
  const certPath = env['DOCKER_CERT_PATH'] || path.join(env['HOME'] ?? '', '.docker');
  for (const file of Object.values(TLS_FILES)) {
    if (!fs.existsSync(path.join(certPath, file))) return fail(`DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH ${certPath} has no ${file}`);
  }
  return ok({ ...address, certPath });
}

/** unix:///var/run/docker.sock, tcp://host:port: for log lines. */
export function engineText(a: EngineAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** GET requests to one engine; the TLS files are read once, when it is made. */
export class EngineClient {
  readonly address: EngineAddress;
  private readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | null;

  constructor(address: EngineAddress) {
    this.address = address;
    const dir = address.kind === 'tcp' ? address.certPath : null;
    this.tls = dir === null ? null : {
      ca: fs.readFileSync(path.join(dir, TLS_FILES.ca)),
      cert: fs.readFileSync(path.join(dir, TLS_FILES.cert)),
      key: fs.readFileSync(path.join(dir, TLS_FILES.key)),
    };
  }

  /** GET `target` (path and query); `timeoutMs` 0: no idle limit (the event stream). */
  get(target: string, timeoutMs: number, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const a = this.address;
    const common = { path: target, ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}) };
    // Over TCP the Host header is the engine's own (TLS checks the certificate against it).
    if (a.kind === 'unix') return http.get({ ...common, socketPath: a.path, headers: { Host: 'docker' } }, onResponse);
    if (this.tls === null) return http.get({ ...common, host: a.host, port: a.port }, onResponse);
    return https.get({ ...common, host: a.host, port: a.port, ...this.tls }, onResponse);
  }
}
