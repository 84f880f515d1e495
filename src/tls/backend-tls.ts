/** TLS towards https backends: which roots to trust, and the client certificate for mutual TLS. */
import fs from 'node:fs';
import tls from 'node:tls';
import { certificatesIn, checkPair, readFlagFile } from './pem.js';

/**
 * Loaded once at start and shared, frozen, by every https connection to a backend: the raw
 * engine's pool (tls.connect), the node engine's https.Agent and the health probes. One secure
 * context means the roots are parsed once, not on every connection.
 */
export interface BackendTls {
  /** undefined: Node's defaults (its bundled roots, plus NODE_EXTRA_CA_CERTS, no client certificate). */
  readonly secureContext: tls.SecureContext | undefined;
  /** What is in force, for the start-up log; '' for the defaults. */
  readonly summary: string;
}

export const DEFAULT_BACKEND_TLS: BackendTls = Object.freeze({ secureContext: undefined, summary: '' });

export interface BackendTlsFiles {
  readonly cacert: string | undefined;
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
}

/**
 * Reads --cacert, --client-cert and --client-key. The CA file is added to the roots Node trusts
 * (as sidekick adds it to Go's system pool), it does not replace them. Every problem is pushed to
 * `errors` as one line naming the flag and the file.
 */
export function loadBackendTls(files: BackendTlsFiles, errors: string[]): BackendTls {
  const before = errors.length;
  if ((files.clientCert === undefined) !== (files.clientKey === undefined)) {
    errors.push(files.clientCert === undefined ? '--client-key needs --client-cert too' : '--client-cert needs --client-key too');
  }
  let extraRoots: string[] = [];
  if (files.cacert !== undefined) {
    const text = readFlagFile('--cacert', files.cacert, errors);
    if (text !== null) {
      const found = certificatesIn(text);
      if ('reason' in found) errors.push(`--cacert ${files.cacert}: ${found.reason}`);
      else extraRoots = found.certs;
    }
  }
  let cert: string | undefined;
  let key: string | undefined;
  if (files.clientCert !== undefined && files.clientKey !== undefined) {
    const certText = readFlagFile('--client-cert', files.clientCert, errors);
    const keyText = readFlagFile('--client-key', files.clientKey, errors);
    if (certText !== null && keyText !== null) {
      const problem = checkPair(certText, keyText, { cert: `--client-cert ${files.clientCert}`, key: `--client-key ${files.clientKey}` });
      if (problem !== null) errors.push(problem);
      cert = certText;
      key = keyText;
    }
  }
  if (errors.length > before || (extraRoots.length === 0 && cert === undefined)) return DEFAULT_BACKEND_TLS;
  const options: tls.SecureContextOptions = { cert, key };
  const summary: string[] = [];
  if (extraRoots.length > 0) {
    // Giving `ca` replaces Node's roots, so they are listed again (with NODE_EXTRA_CA_CERTS, which Node adds to its defaults).
    options.ca = [...tls.rootCertificates, ...nodeExtraCaCerts(), ...extraRoots];
    summary.push(`${extraRoots.length} CA certificate(s) from ${files.cacert} added to the roots`);
  }
  if (cert !== undefined) summary.push(`client certificate ${files.clientCert}`);
  try {
    return Object.freeze({ secureContext: tls.createSecureContext(options), summary: `backend TLS: ${summary.join(', ')}` });
  } catch (err) {
    errors.push(`backend TLS (--cacert/--client-cert/--client-key): ${(err as Error).message}`);
    return DEFAULT_BACKEND_TLS;
  }
}

function nodeExtraCaCerts(): string[] {
  const file = process.env['NODE_EXTRA_CA_CERTS'];
  if (file === undefined || file === '') return [];
  try {
    const found = certificatesIn(fs.readFileSync(file, 'utf8'));
    return 'certs' in found ? found.certs : [];
  } catch {
    return []; // Node has already warned about it at start.
  }
}
