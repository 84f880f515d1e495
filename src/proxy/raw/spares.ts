/**
 * What an HTTP/1.1 connection needs only while it parses a head or forwards a request, shared by
 * all of them: a connection idle between requests holds neither a head parser nor a Forwarder
 * (with its response parser, framers and timer), so it costs little more than its socket. A
 * busy connection takes one of each from here and gives it back when it goes idle; a bounded
 * stack keeps the hot path free of allocation without holding memory for a burst that is over.
 */
import { RequestHeadParser } from '../../http1/index.js';
import type { ProxyContext } from '../context.js';
import { Forwarder } from '../forwarder.js';
import type { Downstream } from '../pipeline.js';

/** Spares kept at most, of each kind: what a few hundred connections in flight at once reuse. */
const MAX_SPARE = 256;

export class ConnectionSpares {
  private readonly ctx: ProxyContext;
  private readonly maxHeadSize: number;
  private readonly forwarders: Forwarder[] = [];
  private readonly parsers: RequestHeadParser[] = [];

  constructor(ctx: ProxyContext, maxHeadSize: number) {
    this.ctx = ctx;
    this.maxHeadSize = maxHeadSize;
  }

  /** A forwarder serving `down`: a spare one, or a new one. */
  forwarder(down: Downstream): Forwarder {
    const f = this.forwarders.pop();
    if (f === undefined) return new Forwarder(this.ctx, down);
    f.serve(down);
    return f;
  }

  /** `f` is idle (Forwarder.idle): nothing of its last request can still call back. */
  returnForwarder(f: Forwarder): void {
    if (this.forwarders.length >= MAX_SPARE) return;
    f.forgetBuffers();
    this.forwarders.push(f);
  }

  /** A head parser with no partial head in it. */
  parser(): RequestHeadParser {
    return this.parsers.pop() ?? new RequestHeadParser({ maxHeadSize: this.maxHeadSize });
  }

  returnParser(p: RequestHeadParser): void {
    // A spare must not keep a client's last read alive.
    p.forgetBuffer();
    if (this.parsers.length < MAX_SPARE) this.parsers.push(p);
  }
}
