import type { Backend } from '../upstream/backend.js';
import { backendId } from './hash.js';

/**
 * Sticky sessions by a cookie Outrigger sets (--sticky-cookie NAME): its value names a backend by
 * a hash of its URL (stable across restarts and across sidecars, and not revealing the address).
 * A request whose cookie names a ready backend goes there; otherwise the caller picks (by hash)
 * and the response sets the cookie to the backend chosen.
 */
export class StickyCookie {
  readonly name: string;
  /** Backend id -> backend, one table per ready snapshot (rebuilt only when a site's ready set changes). */
  private readonly tables = new WeakMap<readonly Backend[], Map<string, Backend>>();

  constructor(name: string) {
    this.name = name;
  }

  /** The ready, not excluded backend the cookie value pins, or null. */
  pinned(ready: readonly Backend[], exclude: readonly Backend[] | null, value: string | null): Backend | null {
    if (value === null || ready.length === 0) return null;
    let byId = this.tables.get(ready);
    if (byId === undefined) this.tables.set(ready, byId = new Map(ready.map((b) => [backendId(b.url), b])));
    const b = byId.get(value);
    return b === undefined || (exclude !== null && exclude.includes(b)) ? null : b;
  }

  /** The cookie value naming `b`. */
  valueFor(b: Backend): string {
    return backendId(b.url);
  }

  /** The Set-Cookie header value pinning `b` (a session cookie, for every path). */
  setCookie(b: Backend): string {
    return `${this.name}=${backendId(b.url)}; Path=/; HttpOnly; SameSite=Lax`;
  }
}
