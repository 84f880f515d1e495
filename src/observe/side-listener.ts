import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A small HTTP server of its own beside the data port (metrics, the catalog API). */
export interface SideListener {
  readonly host: string;
  readonly port: number;
  /** Stops listening and cuts the connections still open (long-lived watch streams included). */
  close(): Promise<void>;
}

/** Listens on `address` (host '' = every interface, port 0 = the kernel's choice); rejects when it cannot. */
export function listenSide(server: http.Server, address: { host: string; port: number }): Promise<SideListener> {
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host === '' ? undefined : address.host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve({
        host: a.address,
        port: a.port,
        close: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}
