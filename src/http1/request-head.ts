/** What the request parser reports, on top of the fields both directions share. */
import { MessageHead } from './message-head.js';

/** origin "/p?q", absolute "http://h/p?q", authority "h:443" (CONNECT), asterisk "*" (OPTIONS). */
export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk';

export class RequestHead extends MessageHead {
  /** Method as sent; known methods are interned strings (compare with ===). */
  method = 'GET';
  /** Request target offsets into buffer. */
  targetStart = 0;
  targetEnd = 0;
  targetForm: TargetForm = 'origin';
  /**
   * What to send upstream in origin-form is pathPrefix + buffer[pathStart, targetEnd): the
   * target itself for origin-form (and the other forms), the path and query of an absolute-form
   * target, with pathPrefix "/" when that has no path ("http://h?x" sends "/?x").
   */
  pathStart = 0;
  pathPrefix: '' | '/' = '';
  #target: string | null = null;
  #path: string | null = null;
  /**
   * Authority of an absolute-form target, -1 otherwise. RFC 9112 §3.2.2: it replaces Host
   * (as Go's server does, and so sidekick did).
   */
  authorityStart = -1;
  authorityEnd = -1;
  /** Host header value offsets; -1 when there is no Host header (only legal in HTTP/1.0). */
  hostStart = -1;
  hostEnd = -1;
  hostMissing = false;
  /** Expect: 100-continue. */
  expectContinue = false;
  /** TE lists "trailers". */
  teTrailers = false;
  /** Upgrade header present and "upgrade" listed in Connection. */
  upgrade = false;

  override reset(buffer: Buffer, start: number): void {
    super.reset(buffer, start);
    this.method = 'GET';
    this.targetStart = this.targetEnd = this.pathStart = 0;
    this.pathPrefix = '';
    this.#target = this.#path = null;
    this.targetForm = 'origin';
    this.authorityStart = this.authorityEnd = this.hostStart = this.hostEnd = -1;
    this.hostMissing = this.expectContinue = this.teTrailers = this.upgrade = false;
  }

  /** The request target as sent (latin1: one char per byte, so it re-encodes exactly). Made on first use. */
  get target(): string {
    this.#target ??= this.buffer.toString('latin1', this.targetStart, this.targetEnd);
    return this.#target;
  }

  /** The origin-form target to send upstream (see pathStart). Made on first use. */
  get path(): string {
    if (this.#path === null) {
      this.#path = this.pathStart === this.targetStart ? this.target
        : this.pathPrefix + this.buffer.toString('latin1', this.pathStart, this.targetEnd);
    }
    return this.#path;
  }

  /** Host header value, '' when missing (allocates). */
  get host(): string {
    return this.hostStart < 0 ? '' : this.buffer.toString('latin1', this.hostStart, this.hostEnd);
  }

  /** Authority of an absolute-form target, '' otherwise (allocates). */
  get authority(): string {
    return this.authorityStart < 0 ? '' : this.buffer.toString('latin1', this.authorityStart, this.authorityEnd);
  }
}
