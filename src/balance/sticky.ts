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
  private builtFor: readonly Backend[] | null = null;
  private byId = new Map<string, Backend>();

  constructor(name: string) {
    this.name = name;
  }

  /** The ready, not excluded backend the cookie value pins, or null. */
  pinned(ready: readonly Backend[], exclude: readonly Backend[] | null, value: string | null): Backend | null {
    if (value === null) return null;
    if (ready !== this.builtFor) {
      this.byId = new Map(ready.map((b) => [backendId(b.url), b]));
      this.builtFor = ready;
    }
    const b = this.byId.get(value);
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
