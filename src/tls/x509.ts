/**
 * X.509 certificates made here: the --auto-tls-host self-signed certificate, and (for the tests)
 * small CAs and the certificates they sign. Node 20 parses certificates but cannot build one, so
 * this uses @peculiar/x509 on Node's own WebCrypto: ECDSA P-256 keys, generated natively in
 * milliseconds. Loaded with a dynamic import only when needed, so a plain start pays nothing for it
 * (and tsyringe's global Reflect polyfill is only installed then).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import net from 'node:net';

const subtle = webcrypto.subtle;
// The library's types are the DOM's Crypto; Node's webcrypto is the same API.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IssuedCertificate {
  /** PEM of the certificate. */
  readonly cert: string;
  /** PEM (PKCS #8) of its private key. */
  readonly key: string;
  /** "AB:CD:..." as openssl and crypto.X509Certificate print it. */
  readonly fingerprint256: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  /** Subject alternative names: IP literals become IP SANs, anything else a DNS SAN. */
  readonly hosts?: readonly string[];
  /** A CA that may sign other certificates. */
  readonly ca?: boolean;
  /** Extended key usage; default 'server'. Ignored for a CA. */
  readonly usage?: 'server' | 'client' | 'both';
  /** Signed by this CA; self-signed when absent. */
  readonly issuer?: IssuedCertificate;
  /** Validity from an hour ago (clock skew) to this many days ahead; default 365. */
  readonly days?: number;
}

/** A fresh ECDSA P-256 key and a certificate for it. */
export async function issueCertificate(request: CertificateRequest): Promise<IssuedCertificate> {
  const keys = await subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as CryptoKeyPair;
  const issuer = request.issuer;
  const signingKey = issuer === undefined ? keys.privateKey : await importKey(issuer.key);
  const issuerName = issuer === undefined ? undefined : new x509.X509Certificate(issuer.cert).subject;
  const subject = `CN=${escapeDn(request.commonName)}`;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(request.ca === true, undefined, true),
    new x509.KeyUsagesExtension(
      request.ca === true
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (issuer !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(await new x509.X509Certificate(issuer.cert).publicKey.export()));
  }
  if (request.ca !== true) {
    const usage = request.usage ?? 'server';
    const eku: x509.ExtendedKeyUsage[] = [];
    if (usage !== 'client') eku.push(x509.ExtendedKeyUsage.serverAuth);
    if (usage !== 'server') eku.push(x509.ExtendedKeyUsage.clientAuth);
    extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  }
  const hosts = request.hosts ?? [];
  if (hosts.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: net.isIP(h) !== 0 ? 'ip' as const : 'dns' as const, value: h }))));
  }
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: issuerName ?? subject,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + (request.days ?? 365) * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey,
    extensions,
  });
  const pem = cert.toString('pem');
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey);
  return Object.freeze({
    cert: `${pem.trimEnd()}\n`,
    key: toPem('PRIVATE KEY', Buffer.from(pkcs8)),
    fingerprint256: new X509Certificate(pem).fingerprint256,
  });
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return await subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']) as CryptoKey;
}

/** 16 random bytes, positive and without a leading zero byte (minimal DER). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
