import cluster, { type Worker } from 'node:cluster';

/** Messages a worker sends its primary over the cluster IPC channel. */
export type WorkerMessage =
  | { readonly type: 'listening'; readonly address: string }
  | { readonly type: 'metrics'; readonly id: number; readonly readings: unknown[] };

/** Messages the primary sends its workers. */
export interface PrimaryMessage {
  readonly type: 'metrics-request';
  readonly id: number;
}

/** How long the primary waits for each worker's readings before a scrape goes without them. */
const COLLECT_TIMEOUT_MS = 2_000;

export interface Supervisor {
  /** Called once, when the first worker is listening. */
  onListening(address: string): void;
  info(message: string): void;
  /** Called when every worker has exited after a stop signal. */
  onStopped(): void;
}

/**
 * The primary of `--workers N`: forks N copies of this process, which share the listen socket
 * through node:cluster (each with its own pools and health checks, the same behaviour as one),
 * replaces a worker that dies, and passes SIGHUP and SIGTERM/SIGINT on to all of them.
 */
export interface Workers {
  stop(signal: NodeJS.Signals): void;
  reload(): void;
  /** Every live worker's backend readings (for summed metrics). */
  collect(): Promise<unknown[][]>;
}

export function supervise(count: number, shutdownTimeoutMs: number, s: Supervisor): Workers {
  let stopping = false;
  let announced = false;
  let nextId = 0;
  const pending = new Map<number, (readings: unknown[]) => void>();
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening' && !announced) {
        announced = true;
        s.onListening(m.address);
      } else if (m.type === 'metrics') {
        pending.get(m.id)?.(m.readings);
      }
    });
    return w;
  };
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) s.onStopped();
      return;
    }
    s.info(`worker ${w.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  const each = (f: (w: Worker) => void): void => {
    for (const w of Object.values(cluster.workers ?? {})) if (w !== undefined) f(w);
  };
  return {
    stop(signal) {
      // A second signal is passed on too: each worker then exits at once instead of draining.
      if (stopping) {
        each((w) => w.process.kill(signal));
        return;
      }
      stopping = true;
      each((w) => w.process.kill(signal));
      // A worker that cannot drain in time is ended with its drain budget plus a margin.
      setTimeout(() => each((w) => w.process.kill('SIGKILL')), shutdownTimeoutMs + 5_000).unref();
      if (Object.keys(cluster.workers ?? {}).length === 0) s.onStopped();
    },
    reload() {
      each((w) => w.process.kill('SIGHUP'));
    },
    collect() {
      const asks: Promise<unknown[]>[] = [];
      each((w) => {
        const id = nextId++;
        asks.push(new Promise((resolve) => {
          const timer = setTimeout(() => { pending.delete(id); resolve([]); }, COLLECT_TIMEOUT_MS);
          pending.set(id, (readings) => { clearTimeout(timer); pending.delete(id); resolve(readings); });
          w.send({ type: 'metrics-request', id } satisfies PrimaryMessage);
        }));
      });
      return Promise.all(asks);
    },
  };
}
