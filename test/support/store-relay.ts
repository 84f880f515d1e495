/**
 * An HTTP relay in front of the test S3 store, so a test sees every store call one sidecar makes
 * (the Host field is passed on as sent, so SigV4 signatures still match) and can cut the store off:
 * `down` drops every connection, `refuseLists` answers ListObjectsV2 with a 503, `holdLists` keeps
 * listings waiting until `releaseLists()`, `stall()` leaves calls unanswered the way a hung store does
 * (connections open, requests taken, nothing back), `delay()` answers them late the way an overloaded
 * one does, and `recover()` ends both. `breakNext()` breaks the connection of the next call of a
 * kind once its request has been read, nothing passed on and nothing answered (a store connection
 * that died under a call). `holdAnswerOfNext()` passes the next call of a kind on but keeps the
 * store's answer back until `releaseAnswers()` (the store did the call; the sidecar hears of it late).
 */
import http from 'node:http';
import type net from 'node:net';
import { listenLoopback, type Cleanup } from './cleanup.js';

export class StoreRelay {
  /** Calls relayed so far: "GET meta" (a lookup), "GET body", "GET list", "PUT meta", "HEAD bucket", … */
  readonly calls: string[] = [];
  /** Calls whose answer has been sent in full, in the order they were. */
  readonly answered: string[] = [];
  down = false;
  refuseLists = false;
  holdLists = false;
  private readonly held: Array<() => void> = [];
  /** Calls whose answers are to be kept back, and how many more; the answers kept back. */
  private readonly holdAnswers = new Map<string, number>();
  private readonly heldAnswers: Array<() => void> = [];
  /** Calls ("PUT body", …) whose connections are still to be broken, and how many more. */
  private readonly breaks = new Map<string, number>();
  /** The kinds of call (kindOf) left unanswered; 'all' for every call. */
  private stalled: ReadonlySet<string> | 'all' = new Set();
  /** Every call is passed on this long after it came (0: at once). */
  private delayMs = 0;
  private readonly delays = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<net.Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly server: http.Server;
  private readonly target: URL;
  port = 0;

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = http.createServer((req, res) => this.relay(req, res));
    this.server.on('connection', (socket) => {
      if (this.down) return void socket.destroy();
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** A relay to `target` (http://host:port), stopped by `cleanup`. */
  static async open(cleanup: Cleanup, target: string): Promise<StoreRelay> {
    const relay = new StoreRelay(target);
    relay.port = await listenLoopback(relay.server);
    cleanup.add(() => relay.close());
    return relay;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many relayed calls were `call` ("GET meta", …). */
  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  /** How many `call`s have been answered in full. */
  answeredCount(call: string): number {
    return this.answered.filter((c) => c === call).length;
  }

  /** Drops every connection now (and, while `down`, every new one). */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** From now on, calls of these kinds ("body", or one method of it: "GET body"; every call, without any) get no answer until the relay closes. */
  stall(...kinds: string[]): void {
    this.stalled = kinds.length === 0 ? 'all' : new Set(kinds);
  }

  /** The next `times` calls `call` ("PUT body", …) lose their connection once their request was read: the store never sees them. */
  breakNext(call: string, times = 1): void {
    this.breaks.set(call, times);
  }

  /** The next `times` calls `call` ("PUT body", …) reach the store, their answers wait for releaseAnswers(). */
  holdAnswerOfNext(call: string, times = 1): void {
    this.holdAnswers.set(call, times);
  }

  /** Answers kept back so far (holdAnswerOfNext). */
  get answersHeld(): number {
    return this.heldAnswers.length;
  }

  releaseAnswers(): void {
    for (const answer of this.heldAnswers.splice(0)) answer();
  }

  /** From now on, every call is passed on to the store `ms` after it came. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** Calls from now on are answered at once again (calls already stalled or delayed stay so). */
  recover(): void {
    this.stalled = new Set();
    this.delayMs = 0;
  }

  releaseLists(): void {
    this.holdLists = false;
    for (const go of this.held.splice(0)) go();
  }

  private relay(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.down) return void req.socket.destroy();
    const kind = kindOf(req.url!);
    const call = `${req.method} ${kind}`;
    this.calls.push(call);
    const breaks = this.breaks.get(call) ?? 0;
    if (breaks > 0) {
      this.breaks.set(call, breaks - 1);
      req.once('end', () => req.socket.destroy()).resume();
      return;
    }
    if (this.stalled === 'all' || this.stalled.has(kind) || this.stalled.has(call)) return void req.resume();
    if (call === 'GET list' && this.refuseLists) {
      req.resume();
      return void res.writeHead(503, { 'Content-Type': 'application/xml' }).end('<Error><Code>SlowDown</Code><Message>lists refused by the test</Message></Error>');
    }
    res.once('finish', () => this.answered.push(call));
    const holds = this.holdAnswers.get(call) ?? 0;
    if (holds > 0) this.holdAnswers.set(call, holds - 1);
    const go = (): void => this.forward(req, res, holds > 0);
    if (call === 'GET list' && this.holdLists) this.held.push(go);
    else if (this.delayMs > 0) this.later(go, this.delayMs);
    else go();
  }

  private later(go: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.delays.delete(timer);
      go();
    }, ms);
    this.delays.add(timer);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, holdAnswer = false): void {
    const out = http.request({
      host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent,
    }, (answer) => {
      const send = (): void => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      };
      if (holdAnswer) this.heldAnswers.push(send);
      else send();
    });
    out.on('error', () => req.socket.destroy());
    res.on('close', () => { if (!res.writableFinished) out.destroy(); });
    req.pipe(out);
  }

  private async close(): Promise<void> {
    for (const timer of this.delays) clearTimeout(timer);
    this.releaseLists();
    this.releaseAnswers();
    this.down = true;
    this.cut();
    this.agent.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** What a store request is about: "list", "meta", "body", "bucket" (HEAD or other bucket calls), or "other". */
function kindOf(url: string): string {
  const { pathname, searchParams } = new URL(url, 'http://x');
  if (searchParams.has('list-type')) return 'list';
  if (pathname.endsWith('/meta.json')) return 'meta';
  if (pathname.endsWith('/body')) return 'body';
  return pathname.split('/').filter((p) => p !== '').length <= 1 ? 'bucket' : 'other';
}
