/**
 * Notices when --cert/--key change on disk and hands the new pair over. Two cheap sources:
 * fs.watch on the files' directories (a plain overwrite, and the Kubernetes secret mount's
 * `..data` symlink swap, both show up there at once), and a slow stat poll for file systems where
 * watching is not available. Either only triggers a check that stats both files (following
 * symlinks) and reloads when the device, inode, size or mtime of either differs from last time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { checkPair, fileError } from './pem.js';

export interface WatchOptions {
  /** Stat poll interval, the fallback when watching does not work. */
  readonly pollMs: number;
  /** Quiet time after a directory event before checking (writers touch both files in turn). */
  readonly settleMs: number;
}

const DEFAULTS: WatchOptions = { pollMs: 5_000, settleMs: 150 };

export class CertificateWatcher {
  private readonly certFile: string;
  private readonly keyFile: string;
  private readonly apply: (cert: string, key: string) => void;
  private readonly log: (message: string) => void;
  private readonly options: WatchOptions;
  private readonly watchers: fs.FSWatcher[] = [];
  private poll: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  /** Identity of the files as last checked (loaded, or refused: then only a further change retries). */
  private seen: string;
  private closed = false;

  /** `seen`: signature() taken before the pair in use was read. */
  constructor(certFile: string, keyFile: string, seen: string, apply: (cert: string, key: string) => void,
    log: (message: string) => void, options: Partial<WatchOptions> = {}) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.seen = seen;
    this.apply = apply;
    this.log = log;
    this.options = { ...DEFAULTS, ...options };
  }

  /** Identity of both files now: device, inode, size and mtime, or the reason one cannot be stat'ed. */
  static signature(certFile: string, keyFile: string): string {
    return [certFile, keyFile].map((file) => {
      try {
        const s = fs.statSync(file, { bigint: true });
        return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch (err) {
        return `! ${file}: ${fileError(err)}`;
      }
    }).join(' ');
  }

  start(): this {
    for (const dir of new Set([path.dirname(path.resolve(this.certFile)), path.dirname(path.resolve(this.keyFile))])) {
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.soon());
        // A watched directory that goes away (or an inotify limit) leaves the poll to do the work.
        w.on('error', () => w.close());
        this.watchers.push(w);
      } catch {
        // Not watchable here: the poll covers it.
      }
    }
    this.poll = setInterval(() => this.check(), this.options.pollMs);
    this.poll.unref();
    return this;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.splice(0)) w.close();
    if (this.poll !== null) clearInterval(this.poll);
    if (this.settle !== null) clearTimeout(this.settle);
  }

  private soon(): void {
    if (this.settle !== null || this.closed) return;
    this.settle = setTimeout(() => {
      this.settle = null;
      this.check();
    }, this.options.settleMs);
    this.settle.unref();
  }

  /** Reload when either file changed since the last check; a broken pair keeps the certificate in use. */
  check(): void {
    if (this.closed) return;
    const now = CertificateWatcher.signature(this.certFile, this.keyFile);
    if (now === this.seen) return;
    this.seen = now;
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
