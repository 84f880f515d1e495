/**
 * RFC 9111 §4.4: a non-error response to an unsafe request invalidates the target URI and the
 * same-origin URIs in its Location and Content-Location fields. S3 makes this matter: a PUT
 * through the sidecar must never be followed by a stale GET through the same sidecar.
 */

/** Methods that never invalidate (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function invalidates(method: string, status: number): boolean {
  return !SAFE.has(method) && status >= 200 && status < 400;
}

/**
 * The origin-form targets to invalidate: the request's own, then each Location/Content-Location
 * that resolves to the same scheme and authority (another origin's entries are not ours to drop).
 */
export function invalidationTargets(scheme: string, authority: string, target: string, locations: readonly string[]): string[] {
  const base = `${scheme}://${authority}`;
  const targets = new Set([target]);
  for (const location of locations) {
    let url: URL;
    try {
      url = new URL(location, `${base}${target}`);
    } catch {
      continue;
    }
    if (url.origin === new URL(base).origin) targets.add(`${url.pathname}${url.search}`);
  }
  return [...targets];
}
