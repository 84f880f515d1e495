/**
 * Sends an Answer (a response made here: local endpoints, errors, stored responses) to a
 * Downstream. A string or Buffer body goes at once; a stream body is read with the client's
 * backpressure (the core calls resume() when the client drains).
 */
import type { Readable } from 'node:stream';
import type { Answer, Downstream } from './pipeline.js';

/** A stream answer in progress: the core resumes it when the client drains and destroys it if the client leaves. */
export interface AnswerStream {
  readonly body: Readable;
}

/**
 * Writes `a`; `done(complete)` runs when its body has been handed over (at once for a string
 * body) or has failed. Returns the stream being read, or null. `headRequest`: the answer to a
 * HEAD, whose head describes the body a GET would get and which sends none (RFC 9110 §9.3.2).
 */
export function sendAnswer(down: Downstream, a: Answer, reusable: boolean, done: (complete: boolean) => void, headRequest = false): Readable | null {
  const body = a.body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    down.answerHead(a.status, a.headers, bytes.length, reusable);
    if (bytes.length > 0 && !headRequest) down.body(bytes);
    down.flush();
    done(true);
    return null;
  }
  const length = 'length' in a ? a.length : -1;
  if (headRequest) {
    body.destroy();
    // No body follows whatever the length: the connection stays reusable.
    down.answerHead(a.status, a.headers, length, reusable);
    down.flush();
    done(true);
    return null;
  }
  down.answerHead(a.status, a.headers, length, reusable && length >= 0);
  let sent = 0;
  // Each chunk is flushed: answerHead corks the connection, and a body larger than the socket's
  // buffer would otherwise wait (paused) for a drain that a corked socket never gives.
  body.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    const more = down.body(chunk);
    down.flush();
    if (!more) body.pause();
  });
  body.once('end', () => done(length < 0 || sent === length));
  body.once('error', () => done(false));
  return body;
}

/** What an AnswerSender reports to its forwarder. */
export interface AnswerOwner {
  /** The answer's body was handed over (`complete`) or failed. */
  answerSent(complete: boolean): void;
}

/** Sends a forwarder's answers, one at a time, and holds the stream body of the one being sent. */
export class AnswerSender {
  private readonly owner: AnswerOwner;
  /** The body of a stream answer being sent. */
  private stream: Readable | null = null;

  constructor(owner: AnswerOwner) {
    this.owner = owner;
  }

  /** No stream answer is being sent. */
  get idle(): boolean {
    return this.stream === null;
  }

  send(down: Downstream, a: Answer, reusable: boolean, headRequest: boolean): void {
    this.stream = sendAnswer(down, a, reusable, this.onSent, headRequest);
  }

  /** The client drained: read the stream body on. */
  resume(): void {
    this.stream?.resume();
  }

  /** The client left: stop reading the stream body (its owner hears nothing more of it). */
  cancel(): void {
    const stream = this.stream;
    this.stream = null;
    stream?.destroy();
  }

  private readonly onSent = (complete: boolean): void => {
    this.stream = null;
    this.owner.answerSent(complete);
  };
}
