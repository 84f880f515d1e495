/**
 * The backend-to-client direction of one attempt: response heads (interim ones relayed, the
 * final one offered to the response-head filters), then the body relayed as received (HTTP/1.1
 * client, no tap: zero copy) or as data spans (HTTP/2 clients, body taps), with backpressure
 * from the client and from taps. Failures and completion are reported to the owner (the core).
 */
import {
  Body, ChunkedWalker, CloseDelimitedBody, FixedLengthBody, ResponseHeadParser,
  type BodyFramer, type ResponseHead, type SpanSink,
} from '../http1/index.js';
import { MAX_RESPONSE_HEAD_BYTES, headerObject } from './header-rules.js';
import { ProxyError } from './errors.js';
import type { FilterChain } from './filters.js';
import type { Answer, Downstream } from './pipeline.js';
import type { ProxyRequest } from './request.js';
import { ResponsePhases } from './response-phases.js';
import type { UpstreamConnection } from './raw/upstream-pool.js';

const PARSE_NEED_MORE = -1;

/** What the relay reports to the core. */
export interface RelayOwner {
  /** The final head arrived (before filters see it). */
  headArrived(): void;
  /** Response-head filters replaced the response: the connection is the owner's to close. */
  headReplaced(conn: UpstreamConnection, a: Answer): void;
  /** The backend did not speak HTTP (nothing went to the client yet). */
  malformed(conn: UpstreamConnection, why: string): void;
  /** The response started but cannot be completed. `transport`: a connection failure (counts against the backend). */
  broken(conn: UpstreamConnection, err: ProxyError, transport: boolean): void;
  /** The body ended cleanly; `extraBytes`: the backend sent more than the response. */
  complete(conn: UpstreamConnection, extraBytes: boolean): void;
  /** A 101 went out: bytes the client already sent behind its handshake belong to the tunnel. */
  tunnelOpened(early: Buffer | null): void;
}

export class ResponseRelay implements SpanSink {
  /** The client side; the owning forwarder rebinds it (Forwarder.serve) between requests. */
  down: Downstream;
  private readonly owner: RelayOwner;
  private readonly parser = new ResponseHeadParser({ maxHeadSize: MAX_RESPONSE_HEAD_BYTES });
  private readonly fixed = new FixedLengthBody(0);
  private readonly chunked: ChunkedWalker;
  private readonly untilClose = new CloseDelimitedBody();
  /** Response head and body filters (none configured: nothing allocated). */
  private readonly phases: ResponsePhases;
  private req: ProxyRequest | null = null;
  private pending: Buffer | null = null;
  private framer: BodyFramer | null = null;
  private upgrade = false;
  /** Relay body bytes as received (HTTP/1.1 client, no tap) rather than as data spans. */
  private rawRelay = true;
  private downloadPaused = false;
  /** The client and the taps accepted every span of the current read. */
  private spansFlowing = true;
  /**
   * An HTTP/1.1 client and a body tap: the taps see a read's spans only after the client's bytes
   * of it have left (a cache's tee copies and writes to its store; the client must not wait for that).
   */
  private tapAfterClient = false;
  /** Spans of the current read held for the taps until the client's write (start, end, …). */
  private readonly heldSpans: number[] = [];
  /** The response head allowed the backend connection to carry another request. */
  keepAlive = false;
  /** A 101 went out: bytes flow both ways until either side closes. */
  tunnel = false;
  /** The client left mid-body and a tap wants the rest: the body is read for the taps alone (the forwarder reads this too). */
  clientGone = false;

  constructor(filters: FilterChain, down: Downstream, owner: RelayOwner, resume: () => void) {
    this.down = down;
    this.owner = owner;
    // Trailers are kept (they are rare and small) for HTTP/2 clients and body taps.
    this.chunked = new ChunkedWalker({ side: 'response', collectTrailers: true });
    this.phases = new ResponsePhases(filters, () => { if (!this.downloadPaused) resume(); });
  }

  /** A new attempt for `req`. */
  start(req: ProxyRequest, upgrade: boolean): void {
    this.req = req;
    this.upgrade = upgrade;
    this.parser.reset();
    this.pending = this.framer = null;
    this.tunnel = this.downloadPaused = this.clientGone = false;
    this.heldSpans.length = 0;
  }

  /** The response head has been relayed (its body, if any, is on its way). */
  get started(): boolean {
    return this.framer !== null;
  }

  /** The body ends when the backend closes the connection. */
  get endsAtClose(): boolean {
    return this.framer === this.untilClose;
  }

  /** Bytes buf[0, n) from the backend; returns false to pause reading. */
  data(conn: UpstreamConnection, buf: Buffer, n: number): boolean {
    const req = this.req!;
    let data = buf;
    let pos = 0;
    let end = n;
    if (this.framer === null) {
      if (this.pending !== null) {
        data = Buffer.concat([this.pending, buf.subarray(0, n)]);
        end = data.length;
        this.pending = null;
      }
      pos = this.readHeads(conn, data, end);
      if (pos < 0) return true;
    }
    const flowing = this.body(conn, data, pos, end) || req !== this.req;
    if (this.clientGone) return flowing;
    this.down.flush();
    // A write that did not complete at once still points into the read buffer: read elsewhere next.
    if (data === buf && this.down.holdsData) conn.retainReadBuffer();
    return flowing;
  }

  /** Parses response heads (interim ones included); returns where the body starts, or -1. */
  private readHeads(conn: UpstreamConnection, data: Buffer, end: number): number {
    let pos = 0;
    for (;;) {
      const r = this.parser.parse(end === data.length ? data : data.subarray(0, end), pos, this.req!.method);
      if (r === PARSE_NEED_MORE) {
        // The read buffer is reused: keep a copy of a head split across reads.
        this.pending = Buffer.from(data.subarray(pos, end));
        return -1;
      }
      if (r < 0) {
        this.owner.malformed(conn, this.parser.error?.message ?? 'unparsable response');
        return -1;
      }
      this.parser.reset();
      const h = this.parser.head;
      if (h.informational && !h.switchingProtocols) {
        if (h.statusCode === 100 || h.statusCode === 103) this.down.interim(h);
        pos = r;
        continue;
      }
      if (h.switchingProtocols && !this.upgrade) {
        this.owner.malformed(conn, 'unrequested 101 Switching Protocols');
        return -1;
      }
      return this.finalHead(conn, h) ? r : -1;
    }
  }

  /** The final head: filters may replace it; else it goes to the client. False when the body must not be read. */
  private finalHead(conn: UpstreamConnection, h: ResponseHead): boolean {
    const req = this.req!;
    this.owner.headArrived();
    const replacement = this.phases.head(req, h);
    if (replacement !== null) {
      this.owner.headReplaced(conn, replacement);
      return false;
    }
    req.status = h.statusCode;
    req.responded = true;
    this.keepAlive = h.keepAlive;
    if (req.debugHeaders !== null) req.debugHeaders.responseHeaders = headerObject(h);
    this.framer = this.framerFor(h);
    this.rawRelay = this.down.rawFraming && !this.phases.tapping;
    this.tapAfterClient = this.down.rawFraming && this.phases.tapping;
    this.chunked.sink = this.rawRelay ? null : this;
    this.chunked.collect = !this.rawRelay;
    if (!this.down.relayHead(h, this.phases.addedFields(req))) {
      this.owner.broken(conn, new ProxyError('UPSTREAM_MALFORMED', 'response head the client protocol cannot carry'), false);
      return false;
    }
    if (this.tunnel) this.owner.tunnelOpened(this.down.upgraded());
    return true;
  }

  private framerFor(h: ResponseHead): BodyFramer {
    if (h.switchingProtocols) {
      this.tunnel = true;
      return this.untilClose;
    }
    if (h.bodyKind === Body.FIXED) {
      this.fixed.reset(h.contentLength);
      return this.fixed;
    }
    if (h.bodyKind === Body.CHUNKED) {
      this.chunked.reset();
      return this.chunked;
    }
    if (h.bodyKind === Body.CLOSE) return this.untilClose;
    this.fixed.reset(0);
    return this.fixed;
  }

  private body(conn: UpstreamConnection, data: Buffer, pos: number, end: number): boolean {
    if (this.tunnel) return pos < end ? this.toClient(data, pos, end) : true;
    const framer = this.framer!;
    this.spansFlowing = true;
    const k = pos < end ? framer.feed(data, pos, end) : 0;
    if (k < 0) {
      // The backend broke its own chunked framing mid-body: the client must see a broken response.
      this.owner.broken(conn, new ProxyError('UPSTREAM_MALFORMED', 'malformed chunked response body'), false);
      return false;
    }
    let flowing = true;
    if (k > 0) {
      if (this.down.rawFraming && !this.clientGone) flowing = this.toClient(data, pos, pos + k);
      // Chunked bodies report their spans during feed(); other framings are all data.
      if (!this.rawRelay && framer !== this.chunked) this.span(data, pos, pos + k);
      if (this.heldSpans.length > 0) this.tapHeldSpans(data);
      if (!this.rawRelay) flowing &&= this.spansFlowing;
    }
    if (framer.done) this.owner.complete(conn, pos + k < end);
    return flowing;
  }

  /** The client's bytes of this read leave first; then the taps see its spans (tapAfterClient). */
  private tapHeldSpans(data: Buffer): void {
    if (!this.clientGone) this.down.flush();
    const spans = this.heldSpans;
    for (let i = 0; i < spans.length; i += 2) {
      if (!this.phases.data(data, spans[i]!, spans[i + 1]!)) this.spansFlowing = false;
    }
    spans.length = 0;
  }

  /** SpanSink: data bytes of the response, for an HTTP/2 client and for taps. */
  span(buf: Buffer, start: number, end: number): void {
    if (!this.down.rawFraming && !this.clientGone) {
      this.req!.tx += end - start;
      if (!this.down.body(start === 0 && end === buf.length ? buf : buf.subarray(start, end))) {
        this.downloadPaused = true;
        this.spansFlowing = false;
      }
    }
    if (!this.phases.tapping) return;
    if (this.tapAfterClient) this.heldSpans.push(start, end);
    else if (!this.phases.data(buf, start, end)) this.spansFlowing = false;
  }

  private toClient(data: Buffer, from: number, to: number): boolean {
    this.req!.tx += to - from;
    const ok = this.down.body(from === 0 && to === data.length ? data : data.subarray(from, to));
    if (!ok) this.downloadPaused = true;
    return ok;
  }

  /** The client or a tap holds the relay back (the backend connection is not being read). */
  get waitingOnClient(): boolean {
    return this.downloadPaused || this.phases.paused;
  }

  /** The client drained: true when the backend connection may be read again. */
  clientDrained(): boolean {
    if (!this.downloadPaused) return false;
    this.downloadPaused = false;
    return !this.phases.paused;
  }

  /** The body ended cleanly: trailers to an HTTP/2 client, end to the taps. */
  finishBody(): void {
    const chunked = this.framer === this.chunked;
    const t = chunked && !this.rawRelay ? this.chunked.trailers : null;
    if (t !== null && t.count > 0 && !this.down.rawFraming && !this.clientGone) {
      const fields: string[] = [];
      for (let i = 0; i < t.count; i++) fields.push(t.nameAt(i), t.valueAt(i));
      this.down.trailers(fields);
    }
    this.phases.end(t);
  }

  /**
   * The client left mid-body. True when a tap wants the rest of the body: from now on it is read
   * for the taps alone (nothing goes to the client); false when the response is to be dropped.
   */
  clientLeft(err: ProxyError): boolean {
    if (this.framer === null || this.tunnel || !this.phases.clientLeft(err)) return false;
    this.clientGone = true;
    this.downloadPaused = false;
    return true;
  }

  /** The response will not complete: taps must not use what they saw. */
  abortTaps(err: ProxyError): void {
    this.phases.abort(err);
  }

  /** Drops the parser's reference to the last backend read buffer. */
  forgetBuffer(): void {
    this.parser.forgetBuffer();
  }

  /** The request ended. */
  reset(): void {
    this.phases.reset();
    this.req = null;
    this.clientGone = false;
  }

  /** Body bytes as the application sees them (chunk framing not counted), given the bytes relayed. */
  dataBytes(relayed: number): number {
    return this.framer === this.chunked && this.down.rawFraming ? this.chunked.dataBytes : relayed;
  }
}
