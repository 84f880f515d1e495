import { after } from 'node:test';

type Stoppable = { stop(): Promise<unknown> } | { close(): Promise<unknown> };

/** Everything a test file starts, stopped once its tests are done (processes and servers alike). */
export class Cleanup {
  private readonly tasks: (() => Promise<unknown>)[] = [];

  constructor() {
    after(async () => { await Promise.all(this.tasks.map((f) => f())); });
  }

  add(task: () => Promise<unknown>): void {
    this.tasks.push(task);
  }

  track(...things: Stoppable[]): void {
    for (const t of things) this.tasks.push(() => ('stop' in t ? t.stop() : t.close()));
  }
}

/** Listen on 127.0.0.1 and resolve with the port (0 picks a free one). */
export function listenLoopback(server: import('node:net').Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as import('node:net').AddressInfo).port);
    });
  });
}
