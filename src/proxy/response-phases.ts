/**
 * Phases 5 and 6 for one response: the response-head filters (which may replace the backend's
 * head with an Answer) and the body taps (which observe data spans with their own backpressure).
 * With no such filters configured, head() returns at once and nothing is allocated.
 */
import { FIELD_STRIDE, NAME_END, NAME_START, VALUE_END, VALUE_START, type ResponseHead, type TrailerCollector } from '../http1/index.js';
import type { ProxyError } from './errors.js';
import type { FilterChain } from './filters.js';
import type { Answer, BodyTap, RequestView, ResponseView, TapFlow } from './pipeline.js';
import type { Backend } from '../upstream/backend.js';

export class ResponsePhases {
  private readonly chain: FilterChain;
  private readonly flow: TapFlow;
  private readonly none: boolean;
  private taps: BodyTap[] | null = null;
  /** Some tap returned false from data() and has not called resume() yet. */
  paused = false;

  constructor(chain: FilterChain, resume: () => void) {
    this.chain = chain;
    this.none = chain.responseHead.length === 0 && chain.responseBody.length === 0;
    this.flow = {
      resume: () => {
        if (!this.paused) return;
        this.paused = false;
        resume();
      },
    };
  }

  /** Some tap watches the current body. */
  get tapping(): boolean {
    return this.taps !== null;
  }

  /** Runs the head filters, then sets up the taps. Returns an Answer that replaces the response, or null. */
  head(req: RequestView, h: ResponseHead): Answer | null {
    if (this.none) return null;
    const view = responseView(h);
    for (const f of this.chain.responseHead) {
      const replacement = f.responseHead!(req, view);
      if (replacement !== null) return replacement;
    }
    for (const f of this.chain.responseBody) {
      const tap = f.responseBody!(req, view, this.flow);
      if (tap !== null) (this.taps ??= []).push(tap);
    }
    return null;
  }

  /** Fields the response-field filters add to the backend's head (null when none does: nothing allocated). */
  addedFields(req: RequestView & { readonly backend: Backend | null }): readonly string[] | null {
    const filters = this.chain.responseFields;
    if (filters.length === 0 || req.backend === null) return null;
    let out: string[] | null = null;
    for (let i = 0; i < filters.length; i++) {
      const fields = filters[i]!.responseFields!(req, req.backend);
      if (fields !== null) (out ??= []).push(...fields);
    }
    return out;
  }

  /** A data span for every tap; false when one of them asks the relay to pause. */
  data(buf: Buffer, start: number, end: number): boolean {
    let ok = true;
    for (const tap of this.taps!) if (!tap.data(buf, start, end)) ok = false;
    if (!ok) this.paused = true;
    return ok;
  }

  end(trailers: TrailerCollector | null): void {
    const taps = this.taps;
    this.reset();
    if (taps === null) return;
    let fields: string[] | null = null;
    if (trailers !== null && trailers.count > 0) {
      fields = [];
      for (let i = 0; i < trailers.count; i++) fields.push(trailers.nameAt(i), trailers.valueAt(i));
    }
    for (const tap of taps) {
      if (fields !== null) tap.trailers?.(fields);
      tap.end();
    }
  }

  /** The client left mid-body: taps that want the rest keep it, the others are aborted. True when some tap kept it. */
  clientLeft(err: ProxyError): boolean {
    const taps = this.taps;
    if (taps === null) return false;
    const kept = taps.filter((tap) => tap.clientLeft?.() === true);
    for (const tap of taps) if (!kept.includes(tap)) tap.abort(err);
    this.taps = kept.length > 0 ? kept : null;
    return this.taps !== null;
  }

  abort(err: ProxyError): void {
    const taps = this.taps;
    this.reset();
    if (taps !== null) for (const tap of taps) tap.abort(err);
  }

  reset(): void {
    this.taps = null;
    this.paused = false;
  }
}

/** The head as copies, for filters (allocates; only built when a filter wants it). */
function responseView(h: ResponseHead): ResponseView {
  const fields: [string, string][] = [];
  for (let i = 0; i < h.headerCount; i++) {
    const o = i * FIELD_STRIDE;
    fields.push([
      h.buffer.toString('latin1', h.offsets[o + NAME_START]!, h.offsets[o + NAME_END]!),
      h.buffer.toString('latin1', h.offsets[o + VALUE_START]!, h.offsets[o + VALUE_END]!),
    ]);
  }
  return { status: h.statusCode, fields };
}
