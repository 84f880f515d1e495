/**
 * --sites-file: the SITEs in a file, one site per line in the command line's syntax, `#` starting
 * a comment (a backend URL cannot carry a fragment, so `#` is never part of one), blank lines
 * ignored. The file is watched (src/watch/file-watch.ts, including the Kubernetes ConfigMap
 * `..data` symlink swap) and re-read on change and on SIGHUP. A file with a problem keeps the
 * sites in use and logs every problem once, with its line number.
 */
import fs from 'node:fs';
import type { ListenAddress, SiteSpec } from '../config/types.js';
import type { BackendSource, EmitSites } from '../upstream/sources.js';
import { FileWatch, fileError, fileSignature, type WatchOptions } from '../watch/file-watch.js';
import { parseSites } from './parse.js';

export interface SitesFileRead {
  readonly sites: SiteSpec[];
  /** "FILE:LINE: problem", one per problem; the sites are meaningful only when empty. */
  readonly errors: string[];
}

/**
 * A rule the sites of a good file must also keep beyond their own syntax (--split: one weight per
 * site); each problem returned keeps the file from being applied.
 */
export type SitesCheck = (sites: readonly SiteSpec[]) => string[];

const NO_CHECK: SitesCheck = () => [];

/** Parse the text of a sites file; messages name the file and line. */
export function parseSitesText(text: string, file: string, listen: ListenAddress): SitesFileRead {
  const args: string[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line === '') return;
    args.push(line);
    lines.push(i + 1);
  });
  const { sites, errors } = parseSites(args, listen);
  // parseSites names a site by its position ("site 2 ..."); here the line says more.
  const located = errors.map((e) => e.replace(/^site (\d+) /, (_, n: string) => `${file}:${lines[Number(n) - 1]}: `));
  if (args.length === 0) located.push(`${file}: no SITE in the file (one per line)`);
  sites.forEach((site, i) => {
    if (site.catalog !== undefined) located.push(`${file}:${lines[i]}: sidecar:// sites are given on the command line only`);
  });
  return { sites, errors: located };
}

export function readSitesFile(file: string, listen: ListenAddress, check: SitesCheck = NO_CHECK): SitesFileRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { sites: [], errors: [`${file}: cannot read it (${fileError(err)})`] };
  }
  const read = parseSitesText(text, file, listen);
  if (read.errors.length > 0) return read;
  return { sites: read.sites, errors: check(read.sites).map((e) => `${file}: ${e}`) };
}

export class SitesFileSource implements BackendSource {
  readonly name = 'sites-file';
  private readonly file: string;
  private readonly listen: ListenAddress;
  private readonly log: (message: string) => void;
  private readonly watch: FileWatch;
  private readonly check: SitesCheck;
  private current: SitesFileRead;
  private emit: EmitSites | null = null;
  /** The problems last logged, so an unchanged bad file is not reported again. */
  private reported = '';

  /** `first`: the read main did at start (refused there when it had errors); `seen`: the signature before it. */
  constructor(
    file: string, listen: ListenAddress, first: SitesFileRead, seen: string, log: (message: string) => void,
    options: Partial<WatchOptions> = {}, check: SitesCheck = NO_CHECK,
  ) {
    this.file = file;
    this.check = check;
    this.listen = listen;
    this.log = log;
    this.current = first;
    this.watch = new FileWatch([file], seen, () => this.reread(), options);
  }

  static signature(file: string): string {
    return fileSignature([file]);
  }

  start(emit: EmitSites): void {
    this.emit = emit;
    emit(this.current.sites);
    this.watch.start();
  }

  reload(): void {
    this.reread();
  }

  stop(): void {
    this.watch.close();
  }

  private reread(): void {
    const read = readSitesFile(this.file, this.listen, this.check);
    if (read.errors.length > 0) {
      const text = read.errors.join('\n');
      if (text !== this.reported) {
        this.reported = text;
        this.log(`sites file not applied, keeping the ${this.current.sites.length} sites in use:`);
        for (const e of read.errors) this.log(`  ${e}`);
      }
      return;
    }
    this.reported = '';
    if (sameSites(read.sites, this.current.sites)) return;
    this.current = read;
    const count = read.sites.reduce((n, s) => n + s.backends.length, 0);
    this.log(`sites file ${this.file} applied: ${read.sites.length} sites, ${count} backends`);
    this.emit?.(read.sites);
  }
}

function sameSites(a: readonly SiteSpec[], b: readonly SiteSpec[]): boolean {
  const urls = (sites: readonly SiteSpec[]): string => sites.map((s) => s.backends.map((x) => x.url).join(',')).join('\n');
  return urls(a) === urls(b);
}
