/**
 * Notices when files change on disk: the served certificate (src/tls/cert-watcher.ts) and the
 * sites file (src/sites/sites-file.ts). Two cheap triggers: fs.watch on the files' directories (a
 * plain overwrite, an editor's rename, and the Kubernetes ConfigMap/Secret mount's `..data`
 * symlink swap all show up there), and a slow stat poll for file systems where watching is not
 * available. Either only makes it compare the files' signatures (following symlinks); the owner
 * hears of a change once per new signature.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface WatchOptions {
  /** Stat poll interval, the fallback when watching does not work. */
  readonly pollMs: number;
  /** Quiet time after a directory event before checking (writers touch files in turn). */
  readonly settleMs: number;
}

export const WATCH_DEFAULTS: WatchOptions = { pollMs: 5_000, settleMs: 150 };

/** Why a file cannot be read, in a few words. */
export function fileError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    default: return e.code !== undefined ? `${e.code}: ${e.message}` : String(e.message ?? err);
  }
}

/** Identity of the files now: device, inode, size and times of each, or `! file: reason` when one cannot be stat'ed. */
export function fileSignature(files: readonly string[]): string {
  return files.map((file) => {
    try {
      const s = fs.statSync(file, { bigint: true });
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      return `! ${file}: ${fileError(err)}`;
    }
  }).join(' ');
}

export class FileWatch {
  private readonly files: readonly string[];
  private readonly onChange: (signature: string) => void;
  private readonly options: WatchOptions;
  private readonly watchers: fs.FSWatcher[] = [];
  private poll: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  /** Signature as last checked. */
  private seen: string;
  private closed = false;

  /** `seen`: fileSignature() taken before the content in use was read. */
  constructor(files: readonly string[], seen: string, onChange: (signature: string) => void, options: Partial<WatchOptions> = {}) {
    this.files = files;
    this.seen = seen;
    this.onChange = onChange;
    this.options = { ...WATCH_DEFAULTS, ...options };
  }

  start(): this {
    for (const dir of new Set(this.files.map((f) => path.dirname(path.resolve(f))))) {
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

  /** Compare now; calls onChange when the files differ from the last check. */
  check(): void {
    if (this.closed) return;
    const now = fileSignature(this.files);
    if (now === this.seen) return;
    this.seen = now;
    this.onChange(now);
  }

  private soon(): void {
    if (this.settle !== null || this.closed) return;
    this.settle = setTimeout(() => {
      this.settle = null;
      this.check();
    }, this.options.settleMs);
    this.settle.unref();
  }
}
