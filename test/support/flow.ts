/** Small helpers for streaming tests: promises resolved from outside, hashes, whole responses. */
import { createHash } from 'node:crypto';
import http from 'node:http';

export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** A backend handler that holds every request's answer until released. */
export interface HeldAnswer {
  readonly handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Resolves once a request has reached the handler. */
  readonly started: Promise<void>;
  /** Every held request (and any later one) ends with the text. */
  release(): void;
}

export function heldAnswer(text: string): HeldAnswer {
  const started = deferred();
  const released = deferred();
  return {
    started: started.promise,
    release: () => released.resolve(),
    handler: (req, res) => {
      req.resume();
      started.resolve();
      void released.promise.then(() => res.end(text));
    },
  };
}

/** Race a promise against a deadline, naming what was awaited when it fails. */
export function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface Outcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  /** True only when the whole framed body arrived. */
  complete: boolean;
  /** Set when the request or the response failed (reset, aborted...). */
  error: Error | undefined;
  informational: http.InformationEvent[];
}

/**
 * One request on a fresh connection; resolves (never rejects) once the response is over or the
 * exchange failed, so tests can assert on broken responses as well as good ones.
 */
export function exchange(url: string, options: http.RequestOptions = {}, body?: Buffer | string): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: {}, rawHeaders: [], trailers: {}, body: Buffer.alloc(0), complete: false, error: undefined, informational: [] };
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      out.body = Buffer.concat(chunks);
      resolve(out);
    };
    const req = http.request(url, { agent: false, ...options }, (res) => {
      out.status = res.statusCode ?? 0;
      out.headers = res.headers;
      out.rawHeaders = res.rawHeaders;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => { out.error ??= err; });
      res.once('end', () => { out.complete = res.complete; out.trailers = res.trailers; });
      res.once('close', () => { out.complete &&= res.complete; settle(); });
    });
    req.on('information', (info) => out.informational.push(info));
    req.once('error', (err) => { out.error ??= err; settle(); });
    req.end(body);
  });
}
