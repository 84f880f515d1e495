/**
 * A deadline on store work a request waits for. A store that accepts connections but stops
 * answering (overloaded, or a network path that drops packets) would otherwise hold every request
 * for the store client's idle timeout (30 s) before the cache is bypassed: with a deadline the
 * request goes on to the backend as if there were no cache, and the late answer is released.
 */
export const TIMED_OUT = Symbol('timed out');

/**
 * The value of `work`, or TIMED_OUT when it has not settled within `ms` (0: no deadline). A value
 * that arrives after the deadline is handed to `discard` (an open body to drop); a late failure
 * is ignored, the store call has already counted it.
 */
export function within<T>(work: Promise<T>, ms: number, discard: (late: T) => void): Promise<T | typeof TIMED_OUT> {
  if (ms <= 0) return work;
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(TIMED_OUT);
    }, ms);
    work.then((value) => {
      if (late) discard(value);
      clearTimeout(timer);
      resolve(value);
    }, (err: unknown) => {
      clearTimeout(timer);
      if (!late) reject(err);
    });
  });
}

/**
 * The lookup deadline (--cache-lookup-timeout) as every store wait a request makes uses it: a
 * wait that misses it is counted and told to the store's health (store-health.ts `slow`), the
 * same for the lookup, a hit's body and a revalidated answer's body.
 */
export class StoreDeadline {
  readonly ms: number;
  private readonly late: () => void;

  /** `late` is called once per wait that missed the deadline. */
  constructor(ms: number, late: () => void) {
    this.ms = ms;
    this.late = late;
  }

  async within<T>(work: Promise<T>, discard: (late: T) => void): Promise<T | typeof TIMED_OUT> {
    const result = await within(work, this.ms, discard);
    if (result === TIMED_OUT) this.late();
    return result;
  }
}
