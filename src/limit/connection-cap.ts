/**
 * At most `max` open connections per client address (--max-conns-per-client). Counted when a
 * connection is accepted and when it closes; a connection over the cap is closed at once, before
 * anything is read from it.
 */
export class ConnectionCap {
  readonly max: number;
  /** Connections closed for being over the cap (read by the metrics). */
  refused = 0;
  private readonly open = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** Count a new connection from `ip`; false (and not counted) when it is over the cap. */
  admit(ip: string): boolean {
    const n = this.open.get(ip) ?? 0;
    if (n >= this.max) {
      this.refused++;
      return false;
    }
    this.open.set(ip, n + 1);
    return true;
  }

  /** An admitted connection from `ip` closed. */
  release(ip: string): void {
    const n = this.open.get(ip) ?? 0;
    if (n <= 1) this.open.delete(ip);
    else this.open.set(ip, n - 1);
  }

  /** Addresses with a connection open (the table never holds more). */
  get clients(): number {
    return this.open.size;
  }
}
