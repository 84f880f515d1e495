/** Requests a test backend received, by path (the cache tests assert how many reached the backend). */
import type http from 'node:http';

export class PathCounts {
  private readonly counts = new Map<string, number>();

  /** Counts `req`; returns its path. */
  add(req: http.IncomingMessage): string {
    const path = new URL(req.url!, 'http://x').pathname;
    this.counts.set(path, this.of(path) + 1);
    return path;
  }

  of(path: string): number {
    return this.counts.get(path) ?? 0;
  }
}
