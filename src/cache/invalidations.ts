/**
 * When each URL was last invalidated (an unsafe request, a purge, an eviction), so a fill that
 * started before that moment is not saved: its body may be the very response the invalidation
 * meant to drop. Only fills running now can be affected, so old marks are forgotten.
 */
const REMEMBERED = 10_000;

export class Invalidations {
  private readonly at = new Map<string, number>();
  private readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
  }

  mark(url: string): void {
    this.at.delete(url);
    this.at.set(url, this.clock());
    if (this.at.size > REMEMBERED) this.at.delete(this.at.keys().next().value as string);
  }

  /** The URL was invalidated at or after `time`. */
  since(url: string, time: number): boolean {
    return (this.at.get(url) ?? -1) >= time;
  }
}
