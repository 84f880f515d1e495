/** Reading and checking PEM files named on the command line, with errors that name the flag and the file. */
import { fileError } from '../watch/file-watch.js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';

/** The file's text, or null after pushing "--flag FILE: why" to `errors`. */
export function readFlagFile(flag: string, file: string, errors: string[]): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    errors.push(`${flag} ${file}: cannot read it (${fileError(err)})`);
    return null;
  }
}

export { fileError };

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The certificates (PEM blocks) in a file's text; null with a reason when there are none or one does not parse. */
export function certificatesIn(text: string): { certs: string[] } | { reason: string } {
  const certs = text.match(CERT_BLOCK) ?? [];
  if (certs.length === 0) return { reason: 'no PEM certificate in it' };
  for (const [i, pem] of certs.entries()) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      return { reason: `certificate ${i + 1} does not parse (${(err as Error).message})` };
    }
  }
  return { certs };
}

/** The private key in a PEM text, or why it cannot be used. */
export function privateKeyIn(text: string): KeyObject | string {
  try {
    return createPrivateKey(text);
  } catch (err) {
    const message = (err as Error).message;
    if (/passphrase/i.test(message)) return 'the key is encrypted (a passphrase is not supported)';
    return `not a PEM private key (${message})`;
  }
}

/**
 * Checks a certificate (chain) file and a key file as a pair; null when they are good, else the
 * reason, naming both flags. `labels` are "--cert FILE" and "--key FILE".
 */
export function checkPair(certText: string, keyText: string, labels: { cert: string; key: string }): string | null {
  const certs = certificatesIn(certText);
  if ('reason' in certs) return `${labels.cert}: ${certs.reason}`;
  const key = privateKeyIn(keyText);
  if (typeof key === 'string') return `${labels.key}: ${key}`;
  if (!new X509Certificate(certs.certs[0]!).checkPrivateKey(key)) {
    return `${labels.key} is not the private key of the certificate in ${labels.cert}`;
  }
  try {
    tls.createSecureContext({ cert: certText, key: keyText });
  } catch (err) {
    return `${labels.cert} and ${labels.key}: ${(err as Error).message}`;
  }
  return null;
}
