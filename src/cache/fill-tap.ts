/**
 * The body tap of a response being stored: each data span is copied once and that copy goes to
 * the store (through the Fill), to followers waiting on the same fetch (the Flight) and, for a
 * small body, to the memory tier. A body whose declared length the memory tier takes is copied
 * straight into one buffer of that length, and the spans handed on are views of it: one copy in
 * all (copying each span, then joining the copies, was a fifth of a 1 MiB miss's CPU in a profile).
 * A body of known length up to STORE_AFTER_BODY_MAX goes to the store only once it has all passed:
 * writing to the store costs the one thread as much as the relay itself, and while a read's copy
 * is written the client's next bytes wait (bench/cache.ts row 3, an isolated 1 MiB miss with
 * --cache-index: 1.44-1.54x the time with the cache off when written as it passed, 0.85-1.15x when
 * written after). Larger bodies stream, so no fill holds more than that for it. Either way the
 * store's part of the end (the PUT of a body written after, its completion, the entry saved) runs
 * once the client's response has ended. The tap never pauses the relay: a store that falls behind
 * loses the fill, the client never waits for it. When the client leaves mid-body, `keepGoing`
 * decides whether the rest is still read (for the store and the followers).
 */
import type { BodyTap } from '../proxy/pipeline.js';
import type { Fill } from './fill.js';
import type { Flight } from './flight.js';
import { WHOLE_PUT_MAX } from './store/body-put.js';

export interface FillTapOptions {
  readonly fill: Fill;
  readonly flight: Flight | null;
  /** Keep a copy of a body up to this size for the memory tier (0: none). */
  readonly keepUpTo: number;
  /** Content-Length, or -1. */
  readonly expected: number;
  /** The body ended cleanly; `body` is the whole body when it was small enough to keep. */
  readonly ended: (body: Buffer | undefined) => void;
  readonly aborted: (reason: string) => void;
  /** The client left after `received` bytes: true to read the rest anyway. */
  readonly keepGoing: (received: number) => boolean;
}

/** Bodies of known length up to this are written to the store after they have passed, not as they pass (the store sends them whole). */
export const STORE_AFTER_BODY_MAX = WHOLE_PUT_MAX;

export function fillTap(options: FillTapOptions): BodyTap {
  const { fill, flight, keepUpTo, expected } = options;
  const keeper = expected >= 0 && expected <= keepUpTo ? new WholeBody(expected) : new KeptSpans(keepUpTo);
  const afterBody: Buffer[] | null = expected >= 0 && expected <= STORE_AFTER_BODY_MAX ? [] : null;
  let received = 0;
  return {
    data(buf: Buffer, start: number, end: number): boolean {
      // The span points into a reused read buffer: one copy serves every reader.
      const copy = keeper.copy(buf, start, end);
      received += copy.length;
      if (afterBody !== null) afterBody.push(copy);
      else fill.write(copy);
      flight?.push(copy);
      return true;
    },
    end(): void {
      const whole = keeper.body();
      flight?.end();
      // The relay ends the client's response when the taps return: the store's part comes after it.
      setImmediate(() => {
        // A body kept whole (for the memory tier) goes to the store as that one buffer, not span by span.
        if (afterBody !== null) for (const copy of whole === undefined ? afterBody : [whole]) fill.write(copy);
        options.ended(whole);
      });
    },
    clientLeft(): boolean {
      return options.keepGoing(received);
    },
    abort(err): void {
      fill.abort(err.code);
      flight?.fail();
      options.aborted(err.code);
    },
  };
}

/** Copies of the spans; the memory tier's body is joined from them at the end (unknown or large length). */
class KeptSpans {
  private kept: Buffer[] | null;
  private keptBytes = 0;
  private readonly keepUpTo: number;

  constructor(keepUpTo: number) {
    this.keepUpTo = keepUpTo;
    this.kept = keepUpTo > 0 ? [] : null;
  }

  copy(buf: Buffer, start: number, end: number): Buffer {
    const copy = Buffer.from(buf.subarray(start, end));
    if (this.kept !== null) {
      this.keptBytes += copy.length;
      if (this.keptBytes > this.keepUpTo) this.kept = null;
      else this.kept.push(copy);
    }
    return copy;
  }

  body(): Buffer | undefined {
    return this.kept === null ? undefined : Buffer.concat(this.kept, this.keptBytes);
  }
}

/** The body copied into one buffer of its declared length; each span is a view of it. */
class WholeBody {
  private whole: Buffer | null;
  private filled = 0;

  constructor(length: number) {
    this.whole = Buffer.allocUnsafe(length);
  }

  copy(buf: Buffer, start: number, end: number): Buffer {
    const whole = this.whole;
    if (whole === null || this.filled + end - start > whole.length) {
      // Longer than declared (the fill aborts on it): nothing is kept for the memory tier.
      this.whole = null;
      return Buffer.from(buf.subarray(start, end));
    }
    const at = this.filled;
    this.filled += buf.copy(whole, at, start, end);
    return whole.subarray(at, this.filled);
  }

  body(): Buffer | undefined {
    return this.whole !== null && this.filled === this.whole.length ? this.whole : undefined;
  }
}
