/**
 * Request methods: the set llhttp knows (Node's http.METHODS), matched bytewise so a known
 * method costs no string allocation; the same string instances are returned every time, so
 * callers may compare with ===.
 */

export const KNOWN_METHODS: readonly string[] = Object.freeze([
  'ACL', 'BIND', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK',
  'M-SEARCH', 'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'NOTIFY', 'OPTIONS',
  'PATCH', 'POST', 'PROPFIND', 'PROPPATCH', 'PURGE', 'PUT', 'QUERY', 'REBIND', 'REPORT',
  'SEARCH', 'SOURCE', 'SUBSCRIBE', 'TRACE', 'UNBIND', 'UNLINK', 'UNLOCK', 'UNSUBSCRIBE',
]);

/** Methods grouped by length, the most common first within a group. */
const BY_LENGTH: string[][] = (() => {
  const groups: string[][] = [];
  const hot = ['GET', 'PUT', 'POST', 'HEAD', 'DELETE', 'OPTIONS'];
  const ordered = [...hot, ...KNOWN_METHODS.filter((m) => !hot.includes(m))];
  for (const m of ordered) (groups[m.length] ??= []).push(m);
  return groups;
})();

function matches(buf: Uint8Array, start: number, m: string): boolean {
  for (let i = 0; i < m.length; i++) if (buf[start + i] !== m.charCodeAt(i)) return false;
  return true;
}

/** The interned known method equal (case-sensitively, as RFC 9110 says) to buf[start, end), or null. */
export function knownMethod(buf: Uint8Array, start: number, end: number): string | null {
  const group = BY_LENGTH[end - start];
  if (group === undefined) return null;
  for (let g = 0; g < group.length; g++) {
    const m = group[g]!;
    if (matches(buf, start, m)) return m;
  }
  return null;
}
