import type { ListenAddress } from '../config/types.js';

/** The forwarding engine seen from the process edge: it listens, and it drains. */
export interface Engine {
  /** Start accepting; resolves with the bound address (port 0 picks a free one). */
  listen(address: ListenAddress): Promise<{ host: string; port: number }>;
  /**
   * Stop accepting, let in-flight requests finish, then close every connection. Resolves with
   * the number of connections that had to be cut when the timeout passed.
   */
  drain(timeoutMs: number): Promise<number>;
}
