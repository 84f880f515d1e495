import type http2 from 'node:http2';

/**
 * Destroy an HTTP/2 client session and wait until it has closed. A session left to the process's
 * exit can spin Node 20's exit cleanup forever (CleanupHandles at 100% CPU, seen in CI and here
 * under load; nodejs/node#47748), so a test file that does not close its sessions may never end.
 */
export function closeSession(session: http2.ClientHttp2Session, timeoutMs = 5_000): Promise<void> {
  if (session.closed && session.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    session.once('close', () => { clearTimeout(timer); resolve(); });
    session.destroy();
  });
}
