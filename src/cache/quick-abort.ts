/**
 * What a fill does when the client that started it leaves mid-body, after Squid's quick_abort_*:
 * finishing costs backend bandwidth nobody is waiting for, aborting wastes what was read. The
 * fill is finished when little is left, or when most was read and what is left is not too much.
 * A fill that others are reading (single-flight followers) always goes on: they are clients too.
 */

export interface QuickAbort {
  /** Finish when at most this many bytes are left. */
  readonly minLeft: number;
  /** Abort when more than this many bytes are left. */
  readonly maxLeft: number;
  /** Between the two: finish when at least this percentage of the body was read. */
  readonly percent: number;
}

/**
 * True to finish the fill. `expected` is the declared length, or -1 (chunked: what is left is
 * unknown, so the fill is finished only for followers).
 */
export function finishWithoutClient(policy: QuickAbort, received: number, expected: number, followers: number): boolean {
  if (followers > 0) return true;
  if (expected < 0) return false;
  const left = expected - received;
  if (left <= policy.minLeft) return true;
  if (left > policy.maxLeft) return false;
  return received * 100 >= expected * policy.percent;
}
