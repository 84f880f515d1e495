/** Serving clients over TLS: --cert/--key (hot-reloaded) or --auto-tls-host, --tls-max, ALPN h2 + http/1.1. */
import type net from 'node:net';
import tls from 'node:tls';
import { CertificateWatcher } from './cert-watcher.js';
import type { TlsVersionName } from './values.js';

export type ServingSource =
  | {
    readonly kind: 'files';
    readonly certFile: string;
    readonly keyFile: string;
    /** CertificateWatcher.signature() of the files, taken before they were read. */
    readonly signature: string;
  }
  | { readonly kind: 'auto'; readonly hosts: readonly string[] };

/** Takes each HTTP/2 connection (ALPN 'h2') once its handshake is done. */
export interface H2Acceptor {
  accept(socket: tls.TLSSocket): void;
}

const HANDSHAKE_TIMEOUT_MS = 30_000;

/** The serving certificate and TLS settings, loaded and checked at start (src/tls/setup.ts). */
export class ServingTls {
  readonly source: ServingSource;
  readonly maxVersion: tls.SecureVersion;
  /** The certificate (chain) PEM in use at start. */
  readonly cert: string;
  private readonly key: string;
  /** SHA-256 fingerprint of the certificate at start ("AB:CD:..."). */
  readonly fingerprint256: string;

  constructor(source: ServingSource, pair: { cert: string; key: string; fingerprint256: string }, tlsMax: TlsVersionName) {
    this.source = source;
    this.cert = pair.cert;
    this.key = pair.key;
    this.fingerprint256 = pair.fingerprint256;
    this.maxVersion = tlsMax === '1.2' ? 'TLSv1.2' : 'TLSv1.3';
  }

  /** The generated certificate's PEM, served at /v1/certificates; null when it came from --cert. */
  get autoCertificate(): string | null {
    return this.source.kind === 'auto' ? this.cert : null;
  }

  /** The generated pair, for the --workers primary to hand to its workers; null when it came from --cert. */
  autoPair(): { cert: string; key: string } | null {
    return this.source.kind === 'auto' ? { cert: this.cert, key: this.key } : null;
  }

  private contextOptions(cert: string, key: string): tls.SecureContextOptions {
    return { cert, key, minVersion: 'TLSv1.2', maxVersion: this.maxVersion };
  }

  /**
   * A TLS server whose HTTP/1.1 connections (and those without ALPN) go to `onHttp1`, and whose
   * 'h2' ones go to `h2` (offered only when given). With --cert/--key it reloads the pair when
   * the files change: new connections get the new certificate, open ones keep theirs.
   */
  createServer(netOptions: net.ServerOpts, onHttp1: (socket: net.Socket) => void, h2: H2Acceptor | null, log: (message: string) => void): tls.Server {
    const server = tls.createServer({
      ...netOptions,
      ...this.contextOptions(this.cert, this.key),
      ALPNProtocols: h2 === null ? ['http/1.1'] : ['h2', 'http/1.1'],
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (h2 !== null && socket.alpnProtocol === 'h2') h2.accept(socket);
      else onHttp1(socket);
    });
    // A failed handshake closes that connection and nothing else (Node destroys the socket).
    server.on('tlsClientError', () => {});
    const source = this.source;
    if (source.kind === 'files') {
      const watcher = new CertificateWatcher(
        source.certFile, source.keyFile, source.signature,
        (cert, key) => server.setSecureContext(this.contextOptions(cert, key)), log,
      ).start();
      server.once('close', () => watcher.close());
    }
    return server;
  }
}
