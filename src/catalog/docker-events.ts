/**
 * The Engine API's event stream (GET /events), followed for the container events that change what
 * runs: the engine streams one JSON object per line over a chunked response that never ends. When
 * the stream breaks (the engine restarts, the socket goes away) it is opened again with backoff;
 * a line that is not a JSON event is logged and skipped.
 */
import type http from 'node:http';
import { engineText, type EngineClient } from './docker-engine.js';

/** The container events that start or end a container's service. */
export const CONTAINER_ACTIONS = ['start', 'die', 'stop', 'destroy'] as const;

const EVENTS_TARGET = `/events?filters=${encodeURIComponent(JSON.stringify({ type: ['container'], event: CONTAINER_ACTIONS }))}`;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** A line longer than this is no event (the engine's are a few hundred bytes): dropped, not buffered on. */
const MAX_LINE = 64 * 1024;

export interface ContainerEvent {
  readonly action: string;
  /** The container's full ID. */
  readonly id: string;
}

export interface EventsOwner {
  /** A container event arrived. */
  containerEvent(e: ContainerEvent): void;
  /** The stream is open (again): events from while it was not may have been missed. */
  following(): void;
}

export class DockerEvents {
  private readonly engine: EngineClient;
  private readonly owner: EventsOwner;
  private readonly log: (message: string) => void;
  private req: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = FIRST_BACKOFF_MS;
  private running = false;
  private partial = '';
  /** The last problem logged; a repeat is not logged again until the stream is open once more. */
  private problem: string | null = null;

  constructor(engine: EngineClient, owner: EventsOwner, log: (message: string) => void) {
    this.engine = engine;
    this.owner = owner;
    this.log = log;
  }

  start(): void {
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.req?.destroy();
    this.req = null;
  }

  private connect(): void {
    this.timer = null;
    this.partial = '';
    let lost = false;
    const lose = (why: string): void => {
      if (lost) return;
      lost = true;
      this.reconnect(why);
    };
    const req = this.engine.get(EVENTS_TARGET, 0, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        lose(`GET /events answered ${res.statusCode}`);
        return;
      }
      this.opened();
      res.setEncoding('utf8');
      res.on('data', (text: string) => this.feed(text));
      // A cut stream ends in 'error' (aborted) and 'close'; either says the same.
      const over = (): void => lose(res.complete ? 'the event stream ended' : 'the event stream broke off');
      res.once('error', over);
      res.once('close', over);
    });
    req.once('error', (err) => lose(err.message));
    this.req = req;
  }

  private opened(): void {
    this.backoffMs = FIRST_BACKOFF_MS;
    if (this.problem !== null) this.log(`docker events: following ${engineText(this.engine.address)} again`);
    this.problem = null;
    this.owner.following();
  }

  private reconnect(why: string): void {
    this.req = null;
    if (!this.running) return;
    if (why !== this.problem) this.log(`docker events: ${why}; reconnecting (every ${MAX_BACKOFF_MS / 1000} s at most) until it is back`);
    this.problem = why;
    this.timer = setTimeout(() => this.connect(), this.backoffMs).unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private feed(text: string): void {
    let rest = this.partial + text;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line !== '') this.line(line);
    }
    if (rest.length > MAX_LINE) {
      this.log(`docker events: a line of over ${MAX_LINE} bytes skipped`);
      rest = '';
    }
    this.partial = rest;
  }

  private line(text: string): void {
    const e = parseEvent(text);
    if (e === null) this.log(`docker events: malformed event line skipped: ${text.slice(0, 120)}`);
    else if (e !== 'other') this.owner.containerEvent(e);
  }
}

/** One line of the stream: a container event, 'other' (another kind of event), or null when it is no event. */
export function parseEvent(text: string): ContainerEvent | 'other' | null {
  let e: unknown;
  try {
    e = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null) return null;
  const fields = e as { Type?: unknown; Action?: unknown; status?: unknown; Actor?: { ID?: unknown } | null; id?: unknown };
  // API 1.22 and later name Type, Action and Actor.ID; older engines only status and id.
  const action = fields.Action ?? fields.status;
  const id = fields.Actor?.ID ?? fields.id;
  if (typeof action !== 'string' || typeof id !== 'string') return null;
  return (fields.Type ?? 'container') === 'container' ? { action, id } : 'other';
}
