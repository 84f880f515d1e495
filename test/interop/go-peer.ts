/**
 * A real Go memberlist node (peer/main.go, Debian's memberlist 0.2.2) as a
 * child process. Built once per source hash into os.tmpdir(), offline, in
 * GOPATH mode; `goPeerBinary()` returns null (tests skip) without Go.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait.js';

const SOURCE = fileURLToPath(new URL('../../../test/interop/peer/main.go', import.meta.url));
const GOPATH = '/usr/share/gocode';
const MEMBERLIST = join(GOPATH, 'src/github.com/hashicorp/memberlist');

export interface PeerEvent { readonly event: string; readonly [key: string]: unknown }

let built: Promise<string | null> | null = null;

/** Why the interop tests skip, or null when they can run. */
export function skipReason(): string | null {
  if (!existsSync(MEMBERLIST)) return `Go memberlist sources not found at ${MEMBERLIST} (apt-get install golang-github-hashicorp-memberlist-dev)`;
  return null;
}

export function goPeerBinary(): Promise<string | null> {
  built ??= (async () => {
    const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
    const dir = join(tmpdir(), 'outrigger-gopeer');
    const bin = join(dir, `peer-${hash}`);
    if (existsSync(bin)) return bin;
    mkdirSync(dir, { recursive: true });
    const env = { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(dir, 'cache'), GOFLAGS: '', CGO_ENABLED: '0' };
    const tmp = `${bin}.${process.pid}`;
    return new Promise<string | null>((resolve, reject) => {
      execFile('go', ['build', '-o', tmp, SOURCE], { env, timeout: 300_000 }, (err, _out, stderr) => {
        if (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve(null);
          else reject(new Error(`building the Go peer failed: ${stderr}`));
          return;
        }
        renameSync(tmp, bin);
        resolve(bin);
      });
    });
  })();
  return built;
}

export class GoPeer {
  readonly events: PeerEvent[] = [];
  readonly proc: ChildProcess;
  port = 0;
  private buf = '';
  stderr = '';

  constructor(bin: string, args: readonly string[]) {
    this.proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => this.read(s));
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    this.proc.stdin!.on('error', () => {});
  }

  static async start(bin: string, args: readonly string[]): Promise<GoPeer> {
    const p = new GoPeer(bin, args);
    const ready = await p.waitEvent((e) => e.event === 'ready' || e.event === 'error', 20_000, 'the Go peer to start');
    if (ready.event === 'error') throw new Error(`Go peer failed: ${String(ready.error)}`);
    p.port = Number(ready.port);
    return p;
  }

  private read(s: string): void {
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      try { this.events.push(JSON.parse(line) as PeerEvent); } catch { /* not ours */ }
    }
  }

  command(line: string): void { this.proc.stdin!.write(`${line}\n`); }

  async waitEvent(pred: (e: PeerEvent) => boolean, timeoutMs: number, what: string): Promise<PeerEvent> {
    await waitFor(() => this.events.some(pred), timeoutMs, what);
    return this.events.find(pred)!;
  }

  /** The alive members as the Go node lists them (memberlist Members()). */
  async members(): Promise<string[]> {
    const before = this.events.length;
    this.command('members');
    const e = await this.waitEvent((x) => x.event === 'members' && this.events.indexOf(x) >= before, 5000, 'a members answer');
    return ((e.members as { name: string }[] | null) ?? []).map((m) => m.name).sort();
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }
}
