import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** A real `outrigger` child process listening on an ephemeral loopback port. */
export class Outrigger {
  readonly proc: ChildProcess;
  port = 0;
  stdout = '';
  stderr = '';
  private exited: Promise<number | null>;

  /** `where`: another build of the command (a packed copy, say) and the directory to run it in. */
  constructor(args: readonly string[], env: Record<string, string> = {}, where: { main?: string; cwd?: string } = {}) {
    this.proc = spawn(process.execPath, [where.main ?? MAIN, '--address', '127.0.0.1:0', ...args], {
      env: { ...process.env, ...env },
      ...(where.cwd !== undefined ? { cwd: where.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => { this.stdout += s; });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    // 'exit' can come before the last output has been read from the pipes; 'close' comes after
    // it, unless a process it started (a --workers worker) still holds them: wait briefly for it.
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => {
      const timer = setTimeout(() => resolve(code), 2_000);
      this.proc.once('close', () => { clearTimeout(timer); resolve(code); });
    }));
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Wait for the "listening on" line and learn the port. */
  async ready(timeoutMs = 10_000): Promise<this> {
    await waitFor(() => /listening on https?:\/\/\S+:(\d+)/.test(this.stdout) || this.proc.exitCode !== null, timeoutMs, 'outrigger to listen');
    const m = /listening on https?:\/\/\S+:(\d+)/.exec(this.stdout);
    if (m === null) throw new Error(`outrigger did not start (exit ${this.proc.exitCode}):\n${this.stderr}${this.stdout}`);
    this.port = Number(m[1]);
    return this;
  }

  /** Wait until the output so far matches. */
  async output(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => pattern.test(this.stdout), timeoutMs, `output ${pattern}`);
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  exit(): Promise<number | null> {
    return this.exited;
  }

  /** Stop it for good (test cleanup). */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

export async function startOutrigger(args: readonly string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<Outrigger> {
  const o = new Outrigger(args, env);
  try {
    return await o.ready(timeoutMs);
  } catch (err) {
    // Nobody else holds the process yet: left running, it would keep the test file from ever ending.
    await o.stop();
    throw err;
  }
}

/** Run the CLI to completion (for argument errors, --help, --version). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    p.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    // 'close', not 'exit': only then has all of its output been read.
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
