/** What the request parser reports, on top of the fields both directions share. */
import { MessageHead } from './message-head.js';

/** origin "/p?q", absolute "http://h/p?q", authority "h:443" (CONNECT), asterisk "*" (OPTIONS). */
export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk';

export class RequestHead extends MessageHead {
  /** Method as sent; known methods are interned strings (compare with ===). */
  method = 'GET';
  /** Request target offsets and text (latin1: one char per byte, re-encodes exactly). */
  targetStart = 0;
  targetEnd = 0;
  target = '/';
  targetForm: TargetForm = 'origin';
  /**
   * What to send upstream in origin-form: the target itself for origin-form, the path and
   * query of an absolute-form target ("/" when it has none), the target for the other forms.
   */
  path = '/';
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
    this.targetStart = this.targetEnd = 0;
    this.target = this.path = '/';
    this.targetForm = 'origin';
    this.authorityStart = this.authorityEnd = this.hostStart = this.hostEnd = -1;
    this.hostMissing = this.expectContinue = this.teTrailers = this.upgrade = false;
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
