/**
 * Notices when --cert/--key change on disk (src/watch/file-watch.ts: directory events, including
 * the Kubernetes secret mount's `..data` symlink swap, and a slow stat poll) and hands the new pair
 * over; a broken pair keeps the certificate in use.
 */
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { checkPair, fileError } from './pem.js';
import { FileWatch, fileSignature, type WatchOptions } from '../watch/file-watch.js';

export type { WatchOptions };

export class CertificateWatcher {
  private readonly certFile: string;
  private readonly keyFile: string;
  private readonly apply: (cert: string, key: string) => void;
  private readonly log: (message: string) => void;
  private readonly watch: FileWatch;

  /** `seen`: signature() taken before the pair in use was read. */
  constructor(certFile: string, keyFile: string, seen: string, apply: (cert: string, key: string) => void,
    log: (message: string) => void, options: Partial<WatchOptions> = {}) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.apply = apply;
    this.log = log;
    this.watch = new FileWatch([certFile, keyFile], seen, (signature) => this.reload(signature), options);
  }

  /** Identity of both files now: device, inode, size and mtime, or the reason one cannot be stat'ed. */
  static signature(certFile: string, keyFile: string): string {
    return fileSignature([certFile, keyFile]);
  }

  start(): this {
    this.watch.start();
    return this;
  }

  close(): void {
    this.watch.close();
  }

  /** Reload when either file changed since the last check. */
  check(): void {
    this.watch.check();
  }

  private reload(now: string): void {
    const keep = 'keeping the current certificate';
    const missing = now.split(' ').find((part) => part.startsWith('!'));
    if (missing !== undefined) {
      this.log(`TLS certificate not reloaded, ${keep}: ${missing.slice(2)}`);
      return;
    }
    let cert: string;
    let key: string;
    try {
      cert = fs.readFileSync(this.certFile, 'utf8');
      key = fs.readFileSync(this.keyFile, 'utf8');
    } catch (err) {
      this.log(`TLS certificate not reloaded, ${keep}: ${fileError(err)}`);
      return;
    }
    const problem = checkPair(cert, key, { cert: `--cert ${this.certFile}`, key: `--key ${this.keyFile}` });
    if (problem !== null) {
      this.log(`TLS certificate not reloaded, ${keep}: ${problem}`);
      return;
    }
    try {
      this.apply(cert, key);
    } catch (err) {
      this.log(`TLS certificate not reloaded, ${keep}: ${(err as Error).message}`);
      return;
    }
    this.log(`TLS certificate reloaded from ${this.certFile} (SHA-256 ${new X509Certificate(cert).fingerprint256})`);
  }
}
