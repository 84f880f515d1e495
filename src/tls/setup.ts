/**
 * Everything TLS, loaded once at start from the configuration: the certificate Outrigger serves
 * (if any) and what https backends are checked against. Every problem is one line naming the flag
 * and the file, so a bad file stops the start with a message, never a stack trace.
 */
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config/types.js';
import { DEFAULT_BACKEND_TLS, loadBackendTls, type BackendTls } from './backend-tls.js';
import { CertificateWatcher } from './cert-watcher.js';
import { checkPair, readFlagFile } from './pem.js';
import { ServingTls } from './serving.js';

export interface TlsSetup {
  readonly backend: BackendTls;
  /** null: plain HTTP. */
  readonly serving: ServingTls | null;
}

export const NO_TLS: TlsSetup = Object.freeze({ backend: DEFAULT_BACKEND_TLS, serving: null });

export type TlsConfig = Pick<Config, 'cert' | 'key' | 'autoTlsHosts' | 'tlsMax' | 'cacert' | 'clientCert' | 'clientKey'>;

/** A generated certificate handed from the --workers primary to its workers, so all serve the same one. */
export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

/** Reads and checks every TLS file; generates the --auto-tls-host certificate (or takes `autoPair`). */
export async function loadTls(config: TlsConfig, autoPair?: CertificatePair): Promise<{ setup: TlsSetup; errors: string[] }> {
  const errors: string[] = [];
  const backend = loadBackendTls(config, errors);
  let serving: ServingTls | null = null;
  const files = config.cert !== undefined || config.key !== undefined;
  if (files && config.autoTlsHosts !== undefined) {
    errors.push('--auto-tls-host and --cert/--key both choose the served certificate: give one or the other');
  } else if (files) {
    serving = servingFromFiles(config, errors);
  } else if (config.autoTlsHosts !== undefined) {
    const pair = autoPair ?? await generate(config.autoTlsHosts);
    serving = new ServingTls({ kind: 'auto', hosts: config.autoTlsHosts }, { ...pair, fingerprint256: new X509Certificate(pair.cert).fingerprint256 }, config.tlsMax);
  }
  return { setup: errors.length > 0 ? NO_TLS : Object.freeze({ backend, serving }), errors };
}

function servingFromFiles(config: TlsConfig, errors: string[]): ServingTls | null {
  const { cert: certFile, key: keyFile } = config;
  if (certFile === undefined || keyFile === undefined) {
    errors.push(certFile === undefined ? '--key needs --cert too (the certificate to serve)' : '--cert needs --key too (the certificate\'s private key)');
    return null;
  }
  // Taken before reading, so a change while reading is seen as a change by the watcher.
  const signature = CertificateWatcher.signature(certFile, keyFile);
  const cert = readFlagFile('--cert', certFile, errors);
  const key = readFlagFile('--key', keyFile, errors);
  if (cert === null || key === null) return null;
  const problem = checkPair(cert, key, { cert: `--cert ${certFile}`, key: `--key ${keyFile}` });
  if (problem !== null) {
    errors.push(problem);
    return null;
  }
  return new ServingTls({ kind: 'files', certFile, keyFile, signature }, { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 }, config.tlsMax);
}

/** A self-signed certificate for the hosts; the X.509 builder is loaded only now. */
async function generate(hosts: readonly string[]): Promise<CertificatePair> {
  const { issueCertificate } = await import('./x509.js');
  const issued = await issueCertificate({ commonName: hosts[0]!, hosts, usage: 'server' });
  return { cert: issued.cert, key: issued.key };
}
