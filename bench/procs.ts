// Starting, pinning, measuring and stopping the processes the benchmark runs.
//
// Every process is spawned `detached`, so it leads its own session and process group: the
// proxy's workers (nginx workers, cluster children) share that session, which is how their
// CPU time and memory are summed from /proc, and how they are all stopped by the one PID we
// started (kill(-pid) signals exactly that group). Each PID is also written to
// $state/pids/NAME.pid so bench/run.sh can clean up if this process dies without its handlers.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  log: string;
}

const live = new Map<number, Proc>();
let pidDir = '';
let logDir = '';

export function initProcs(state: string): void {
  pidDir = path.join(state, 'pids');
  logDir = path.join(state, 'logs');
  fs.mkdirSync(pidDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
}

/** The command line that runs CMD on CPUS (a taskset list), or CMD as is when not pinning. */
export function pinned(cpus: string | null, cmd: string, args: string[]): [string, string[]] {
  return cpus === null ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]];
}

export interface StartOptions {
  cpus: string | null;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'log' sends stdout+stderr to $state/logs/NAME.log; 'pipe' lets the caller read them. */
  stdio?: 'log' | 'pipe';
}

export function start(name: string, cmd: string, args: string[], opts: StartOptions): Proc {
  const [file, argv] = pinned(opts.cpus, cmd, args);
  const log = path.join(logDir, `${name}.log`);
  let stdio: ('ignore' | 'pipe' | number)[];
  let fd: number | null = null;
  if (opts.stdio === 'pipe') {
    stdio = ['pipe', 'pipe', 'pipe'];
  } else {
    fd = fs.openSync(log, 'w');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(file, argv, { detached: true, stdio, env: opts.env ?? process.env, cwd: opts.cwd });
  if (fd !== null) fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', () => resolve(127));
  });
  const proc: Proc = { name, pid, child, exited, log };
  live.set(pid, proc);
  fs.writeFileSync(path.join(pidDir, `${name}.pid`), `${pid}\n`);
  void exited.then(() => forget(proc));
  return proc;
}

function forget(proc: Proc): void {
  if (live.get(proc.pid) !== proc) return;
  live.delete(proc.pid);
  try {
    if (fs.readFileSync(path.join(pidDir, `${proc.name}.pid`), 'utf8').trim() === String(proc.pid)) {
      fs.rmSync(path.join(pidDir, `${proc.name}.pid`));
    }
  } catch {
    // pid file already gone
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** TERM the process group we started; KILL it if it has not exited after graceMs. */
export async function stop(proc: Proc | null, graceMs = 3000): Promise<void> {
  if (!proc || !live.has(proc.pid)) return;
  signalGroup(proc.pid, 'SIGTERM');
  const timer = new Promise<'late'>((resolve) => setTimeout(resolve, graceMs, 'late').unref());
  if ((await Promise.race([proc.exited, timer])) === 'late') {
    signalGroup(proc.pid, 'SIGKILL');
    await proc.exited;
  }
  // A worker that outlived its leader would still be in the group: make sure it is gone.
  signalGroup(proc.pid, 'SIGKILL');
  forget(proc);
}

/** Synchronous last resort for process 'exit': KILL every group still alive. */
export function killAllNow(): void {
  for (const proc of [...live.values()]) {
    signalGroup(proc.pid, 'SIGKILL');
    forget(proc);
  }
}

/** Runs a command to completion (bounded by timeoutMs), collecting its output. */
export async function run(
  name: string, cmd: string, args: string[], cpus: string | null, timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = start(name, cmd, args, { cpus, stdio: 'pipe' });
  // 'close' (not 'exit') fires once stdout/stderr are drained too.
  const closed = new Promise<number | null>((resolve) => {
    proc.child.once('close', (code) => resolve(code));
    proc.child.once('error', () => resolve(127));
  });
  proc.child.stdin?.end();
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    stderr += `\n[bench] ${name} killed after ${timeoutMs} ms\n`;
    signalGroup(proc.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await closed;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

// ---- /proc accounting -------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Fields of /proc/PID/stat after the ')' closing the command name: [0] = state (field 3). */
function statFields(pid: string): string[] | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** PIDs of every live process in session SID (the proxy we started and its workers). */
export function sessionPids(sid: number): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (f && Number(f[3]) === sid) out.push(entry); // field 6 = session
  }
  return out;
}

/** user+system CPU seconds used so far by the live processes of session SID. */
export function sessionCpuSeconds(sid: number): number {
  let ticks = 0;
  for (const pid of sessionPids(sid)) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]); // fields 14, 15 = utime, stime
  }
  return ticks / CLK_TCK;
}

/** Resident memory (bytes) summed over session SID (shared pages count once per process). */
export function sessionRssBytes(sid: number): number {
  let kb = 0;
  for (const pid of sessionPids(sid)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m?.[1]) kb += Number(m[1]);
    } catch {
      // process exited between the listing and the read
    }
  }
  return kb * 1024;
}

/** [busy, total] clock ticks per core, from /proc/stat. */
export function coreTicks(): [number, number][] {
  const out: [number, number][] = [];
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!/^cpu\d+ /.test(line)) continue;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    out.push([total - idle, total]);
  }
  return out;
}

/** Busy % of each core between two coreTicks() samples. */
export function coreBusy(before: [number, number][], after: [number, number][]): number[] {
  return after.map(([b1, t1], i) => {
    const [b0, t0] = before[i] ?? [0, 0];
    return t1 > t0 ? Math.round((100 * (b1 - b0)) / (t1 - t0)) : 0;
  });
}

// ---- small helpers ----------------------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True when something already accepts connections on 127.0.0.1:port. */
export function portBusy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('timeout', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function tailLog(proc: Proc | null, lines = 15): string {
  if (!proc) return '';
  try {
    return fs.readFileSync(proc.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
