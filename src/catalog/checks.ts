import http from 'node:http';
import net from 'node:net';
import { execFile } from 'node:child_process';
import type { ServicePort } from './types.js';

/** Sidecar's check types, and a TCP connect check. */
export type CheckType = 'HttpGet' | 'External' | 'TCP' | 'AlwaysSuccessful';
export const CHECK_TYPES: readonly CheckType[] = ['HttpGet', 'External', 'TCP', 'AlwaysSuccessful'];

export interface CheckSpec {
  readonly Type: CheckType;
  /** A URL (HttpGet), a command line (External), host:port (TCP); Sidecar's templates allowed. */
  readonly Args: string;
}

/** One check's verdict: healthy, failed (the service answered badly), or unknown (no answer at all). */
export interface CheckResult {
  readonly result: 'healthy' | 'failed' | 'unknown';
  readonly reason: string;
}

/**
 * Sidecar's templates in check arguments: `{{ host }}` is the instance's IP, `{{ tcp N }}` (and
 * `{{ udp N }}`) the port published for the instance's port N (matched on ServicePort, then Port).
 */
export function expandTemplates(args: string, host: string, ports: readonly ServicePort[]): string {
  return args.replace(/\{\{\s*(host|tcp|udp)\s*(\d*)\s*\}\}/g, (whole, what: string, n: string) => {
    if (what === 'host') return host;
    const wanted = Number(n);
    const p = ports.find((x) => x.Type === what && x.ServicePort === wanted) ?? ports.find((x) => x.Type === what && x.Port === wanted);
    return p === undefined ? whole : String(p.Port);
  });
}

export function runCheck(spec: CheckSpec, args: string, timeoutMs: number): Promise<CheckResult> {
  switch (spec.Type) {
    case 'AlwaysSuccessful': return Promise.resolve({ result: 'healthy', reason: 'always successful' });
    case 'HttpGet': return httpGet(args, timeoutMs);
    case 'TCP': return tcpConnect(args, timeoutMs);
    case 'External': return external(args, timeoutMs);
  }
}

/**
 * 2xx is healthy, any other status failed, no answer unknown (as Sidecar). A refused connection is
 * failed too, as in the TCP check: nothing listens, so the service is down, not merely unreachable.
 */
function httpGet(url: string, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? { result: 'healthy', reason: `status ${status}` } : { result: 'failed', reason: `status ${status}` });
      });
    } catch (err) {
      resolve({ result: 'failed', reason: `bad check URL ${url}: ${(err as Error).message}` });
      return;
    }
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) => resolve({ result: (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'failed' : 'unknown', reason: err.message }));
  });
}

function tcpConnect(target: string, timeoutMs: number): Promise<CheckResult> {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(target.trim());
  if (m === null) return Promise.resolve({ result: 'failed', reason: `TCP check needs host:port, got "${target}"` });
  return new Promise((resolve) => {
    const socket = net.connect({ host: m[1] === '' ? '127.0.0.1' : m[1], port: Number(m[2]) });
    const timer = setTimeout(() => { socket.destroy(); resolve({ result: 'unknown', reason: `no connection within ${timeoutMs} ms` }); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve({ result: 'healthy', reason: 'connected' }); });
    socket.once('error', (err) => { clearTimeout(timer); resolve({ result: 'failed', reason: err.message }); });
  });
}

/** Exit 0 is healthy. The command line is split on spaces and run without a shell, as Sidecar really does. */
function external(commandLine: string, timeoutMs: number): Promise<CheckResult> {
  const [command, ...args] = commandLine.trim().split(/\s+/);
  if (command === undefined || command === '') return Promise.resolve({ result: 'failed', reason: 'External check without a command' });
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err) => {
      if (err === null) resolve({ result: 'healthy', reason: 'exit 0' });
      else if (err.killed) resolve({ result: 'unknown', reason: `still running after ${timeoutMs} ms` });
      else resolve({ result: 'failed', reason: typeof err.code === 'number' ? `exit ${err.code}` : err.message });
    });
  });
}
