/**
 * The body tap of a response being stored: each data span is copied once and that copy goes to
 * the store (through the Fill), to followers waiting on the same fetch (the Flight) and, for a
 * small body, to the memory tier. The tap never pauses the relay: a store that falls behind
 * loses the fill, the client never waits for it. When the client leaves mid-body, `keepGoing`
 * decides whether the rest is still read (for the store and the followers).
 */
import type { BodyTap } from '../proxy/pipeline.js';
import type { Fill } from './fill.js';
import type { Flight } from './flight.js';

export interface FillTapOptions {
  readonly fill: Fill;
  readonly flight: Flight | null;
  /** Keep a copy of a body up to this size for the memory tier (0: none). */
  readonly keepUpTo: number;
  /** The body ended cleanly; `body` is the whole body when it was small enough to keep. */
  readonly ended: (body: Buffer | undefined) => void;
  readonly aborted: (reason: string) => void;
  /** The client left after `received` bytes: true to read the rest anyway. */
  readonly keepGoing: (received: number) => boolean;
}

export function fillTap(options: FillTapOptions): BodyTap {
  const { fill, flight, keepUpTo } = options;
  let kept: Buffer[] | null = keepUpTo > 0 ? [] : null;
  let keptBytes = 0;
  let received = 0;
  return {
    data(buf: Buffer, start: number, end: number): boolean {
      // The span points into a reused read buffer: one copy serves every reader.
      const copy = Buffer.from(buf.subarray(start, end));
      received += copy.length;
      fill.write(copy);
      flight?.push(copy);
      if (kept !== null) {
        keptBytes += copy.length;
        if (keptBytes > keepUpTo) kept = null;
        else kept.push(copy);
      }
      return true;
    },
    end(): void {
      flight?.end();
      options.ended(kept === null ? undefined : Buffer.concat(kept));
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
