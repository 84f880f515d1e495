/**
 * The request pipeline: the phases every proxied request goes through, whichever protocol the
 * client speaks, and the interfaces that plug into them. Modelled on pingora's ProxyHttp phases
 * (request_filter, upstream_peer, upstream_response_filter, response_body_filter, logging) and
 * undici's dispatcher handlers; kept to what Outrigger's filters need.
 *
 *   1. head received   the client adapter (HTTP/1.1 connection or HTTP/2 stream) builds the
 *                      request's state from copies (never offsets into a read buffer)
 *   2. request         filters in order: local endpoints first, then cache lookup, rate limits...
 *                      each may answer (an Answer ends the request here) or edit the request;
 *                      request-body taps (the mirror's copy) see the client's body as data spans
 *   3. pick            a BackendChooser picks among the ready backends (site failover, balance,
 *                      hash keys), excluding those this request already tried
 *   4. upstream        the head goes out over a pooled HTTP/1.1 connection; the body follows once
 *                      the connection is open; failures go through retry.ts (try elsewhere?)
 *   5. response head   filters may replace the backend's head with an Answer (304 -> stored body)
 *                      or add fields to it (a sticky cookie's Set-Cookie); with no head at all
 *                      (connect refused, timeout, no backend) they may answer instead of the error
 *   6. body            taps observe or copy the body as data spans, with their own backpressure;
 *                      with no tap the bytes are relayed as they are (zero copy); a tap may ask
 *                      for the rest of the body after the client left (the body is then read for it)
 *   7. done            filters see the outcome: status, bytes, the typed error if any (logging)
 *
 * A request no filter wants costs nothing extra: filters that do not implement a phase are not
 * called, and a filter list without body taps keeps the raw relay.
 */
import type { Readable } from 'node:stream';
import type { ResponseHead } from '../http1/index.js';
import type { Backend } from '../upstream/backend.js';
import type { LocalResponse } from './error-response.js';
import type { ProxyError } from './errors.js';

/** The protocol a request reached Outrigger on; backends are always spoken to over HTTP/1.1. */
export type ClientProtocol = 'http/1.1' | 'h2';

/**
 * What filters and pickers may read about a request. Every field is a copy made when the head
 * arrived, so it stays valid across asynchronous phases. Accessors that search headers allocate:
 * they are for filters, not for the relay.
 */
export interface RequestView {
  readonly protocol: ClientProtocol;
  readonly method: string;
  /** The request target in origin form (path and query, byte for byte), before a backend's base path. */
  readonly target: string;
  /** Host (or :authority, or an absolute-form target's authority); '' when the client sent none. */
  readonly authority: string;
  /** The client's address (no IPv4-mapped prefix). */
  readonly clientIp: string;
  /** The request has a body (Content-Length > 0, chunked, or an HTTP/2 stream open after its headers). */
  readonly hasBody: boolean;
  /** The first value of a header, by lower-case name, as it will be forwarded (hop-by-hop ones are gone). */
  header(name: string): string | undefined;
  /** Every forwarded header field as name/value pairs (allocates: for filters that copy a request). */
  fields(): string[];
  /** One cookie's value, from every Cookie header. */
  cookie(name: string): string | undefined;
  /** One query parameter's raw value (not percent-decoded); '' for a bare key. */
  query(name: string): string | undefined;
}

/** Edits a request filter may make before the request is forwarded. */
export interface RequestEdit {
  /** Replace (value) or remove (null) a forwarded header. */
  setHeader(name: string, value: string | null): void;
  /** Send another origin-form target upstream (the client still sees its own). */
  setTarget(target: string): void;
}

/**
 * A response made by Outrigger rather than a backend: local endpoints and errors (string body),
 * or a stored response (a Buffer, or a stream read with backpressure).
 */
export type Answer = LocalResponse | BufferAnswer | StreamAnswer;

/** A response whose body is held whole in memory (memory-tier hits): written at once, no stream. */
export interface BufferAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface StreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
  /** Content-Length when known, else -1 (chunked on HTTP/1.1). */
  readonly length: number;
}

/** The backend's response head as the response-head phase sees it (copies; allocates). */
export interface ResponseView {
  readonly status: number;
  /** Field lines as [name, value] pairs, hop-by-hop ones included. */
  readonly fields: readonly (readonly [string, string])[];
}

/** How a body tap slows the relay down: it returned false from data(), it calls resume() when ready. */
export interface TapFlow {
  resume(): void;
}

/**
 * Observes a response body as data spans: never chunk framing, whatever the backend sent. A span
 * is only valid during the call (it points into a reused read buffer): copy what you keep.
 */
export interface BodyTap {
  /** Returns false to pause the relay until flow.resume() (the tee's own backpressure). */
  data(buf: Buffer, start: number, end: number): boolean;
  /** Trailer fields of a chunked body, name/value flat list. */
  trailers?(fields: readonly string[]): void;
  /** The body ended cleanly: what the tap saw is the whole body. */
  end(): void;
  /** The body broke off or the client left: what the tap saw must not be used as a whole body. */
  abort(err: ProxyError): void;
  /**
   * The client left mid-body. Return true to have the core read the rest of the body for the taps
   * alone (a cache finishing its fill, as Squid's quick_abort); end() or abort() follows as usual.
   * Absent or false: abort() at once.
   */
  clientLeft?(): boolean;
}

/** What the done phase reports. */
export interface Outcome {
  /** Status sent to the client; 0 when none was. */
  readonly status: number;
  /** The backend of the last attempt, if any. */
  readonly backend: Backend | null;
  readonly attempts: number;
  /** Backends of earlier attempts that failed before answering (the request went on elsewhere); null when none. */
  readonly failedOn: readonly Backend[] | null;
  /** Request / response body bytes (data only, not chunk framing). */
  readonly rxBytes: number;
  readonly txBytes: number;
  /** Why the request failed, when it did. */
  readonly error: ProxyError | null;
}

/**
 * One pipeline stage. Every phase is optional; the core calls only those a filter has, in the
 * order the filters were given. A filter keeps per-request data in its own WeakMap keyed by the
 * RequestView (the same object in every phase of one request).
 */
export interface ProxyFilter {
  readonly name: string;
  /** Requests this filter answers are not traced (Outrigger's own endpoints: health probes would flood the trace). */
  readonly untraced?: boolean;
  /**
   * Phase 2. Return an Answer to respond without a backend, null to go on. A promise (a cache
   * lookup) holds the request meanwhile; its body stays unread until the filter decides.
   */
  request?(req: RequestView, edit: RequestEdit): Answer | null | Promise<Answer | null>;
  /**
   * Phase 2, for a request with a body: a tap that sees the request body as data spans (never
   * chunk framing), set up when the request starts, or null. It cannot slow the upload down (the
   * result of data() is ignored): a tap that cannot keep up must drop what it holds. end() when
   * the whole body was read, abort() when it was not (the client left, or a filter answered).
   */
  requestBody?(req: RequestView): BodyTap | null;
  /**
   * Phase 5. Fields to add to the head `backend` answered with (name/value flat list), or null:
   * a sticky-session Set-Cookie. Not applied to Answers.
   */
  responseFields?(req: RequestView, backend: Backend): readonly string[] | null;
  /** Phase 5. Return an Answer to send instead of the backend's response (whose body is then dropped). */
  responseHead?(req: RequestView, head: ResponseView): Answer | null;
  /**
   * Phase 5, instead of a response: the request failed before any response head (connect refused
   * or timed out, no answer in time, no backend left). Return an Answer to send instead of the
   * error (a stored stale response), or null.
   */
  failed?(req: RequestView, err: ProxyError): Answer | null;
  /** Phase 6. A tap to observe the body of this response, or null. Called once per response. */
  responseBody?(req: RequestView, head: ResponseView, flow: TapFlow): BodyTap | null;
  /** Phase 7. The request ended (answered, relayed, failed or abandoned by the client). */
  done?(req: RequestView, outcome: Outcome): void;
}

/** Phase 3: chooses the backend of the next attempt. The default is UpstreamSet (sites, --host-balance). */
export interface BackendChooser {
  /** A ready backend not in `exclude`, or null when none is left. */
  pick(req: RequestView, exclude: readonly Backend[] | null): Backend | null;
}

/**
 * Where the core writes a response: one implementation over an HTTP/1.1 client connection
 * (src/proxy/raw/client-connection.ts), one over an HTTP/2 stream (src/proxy/h2/stream-downstream.ts).
 * The core never touches a client socket or stream directly.
 */
export interface Downstream {
  readonly protocol: ClientProtocol;
  /**
   * True when the client takes the backend's HTTP/1.1 body bytes as they are, chunk framing
   * included (the zero-copy relay), and sends its body framed the same way; false when it needs
   * data spans and trailers (HTTP/2) and sends bare data.
   */
  readonly rawFraming: boolean;
  /** An interim response (100 Continue, 103 Early Hints) from the backend; parsed in place, valid during the call. */
  interim(head: ResponseHead): void;
  /**
   * The backend's final response head, parsed in place: valid only during the call. The adapter
   * applies the response header rules for its protocol (src/proxy/header-rules.ts). Returns false
   * when the client cannot carry this head (the core then aborts). `extra`: fields the filters
   * add (name/value flat list), or null.
   */
  relayHead(head: ResponseHead, extra: readonly string[] | null): boolean;
  /**
   * A head made here (an Answer). `length`: the body length when known, -1 when it is not
   * (close-delimited on HTTP/1.1, plain DATA frames on HTTP/2). `reusable`: the client's
   * connection may carry another request after this answer.
   */
  answerHead(status: number, headers: Record<string, string>, length: number, reusable: boolean): void;
  /** Body bytes (data only when rawFraming is false). False when the client is slow: wait for drained(). */
  body(data: Buffer): boolean;
  /** The end of one batch of writes (one upstream read): send what was held back to coalesce writes. */
  flush(): void;
  /** A write still references the last data given to body(): its buffer must not be reused. */
  readonly holdsData: boolean;
  /** Trailer fields (name/value flat list), only when rawFraming is false. */
  trailers(fields: readonly string[]): void;
  /** The response ended cleanly. `reusable`: the whole request was read, the connection may carry another. */
  end(reusable: boolean): void;
  /** The response cannot be completed: the client must see it broken, never as a shorter whole one. */
  abort(): void;
  /** Stop / restart reading the client's request body (upload backpressure). */
  pauseRequest(): void;
  resumeRequest(): void;
  /** HTTP/1.1 only: the connection now carries an upgraded protocol; returns bytes already received behind the handshake. */
  upgraded(): Buffer | null;
}

/** What a Downstream's adapter reports to the core (src/proxy/forwarder.ts) about the client side. */
export interface DownstreamEvents {
  /** Request body bytes (framed as sent for HTTP/1.1, bare data for HTTP/2). Returns how many belonged to the request. */
  requestData(chunk: Buffer): number;
  /** HTTP/2: the client ended its body (END_STREAM), with trailers (name/value flat list) when it sent some. */
  requestEnd(trailers: readonly string[] | null): void;
  /** The client can take more response bytes. */
  clientDrained(): void;
  /** HTTP/1.1: the client half-closed its side. */
  clientEnded(): void;
  /** The client went away. */
  clientClosed(): void;
}
