import cluster, { type Worker } from 'node:cluster';
import { decodeWorkerMessage, PROTOCOL_VERSION, type GroupView, type PrimaryMessage, type WorkerMessage } from './control/messages.js';
import type { SnapshotPublisher } from './control/publisher.js';
import type { RemovalNotice } from './cache/removals.js';

/** How long the primary waits for each worker's readings before a scrape goes without them. */
const COLLECT_TIMEOUT_MS = 2_000;

export interface Supervisor {
  /**
   * Called once, when every worker is listening. Not sooner: node:cluster closes the shared listen
   * socket when its last listening worker leaves, so a group announced on its first worker could
   * lose that worker and its port (a new one, for port 0) while the others were still starting.
   */
  onListening(address: string): void;
  info(message: string): void;
  /** Called when every worker has exited after a stop signal. */
  onStopped(): void;
  /** The control plane's snapshots and changes; worker evidence goes to its decide(). */
  readonly publisher: SnapshotPublisher;
  /** Resolves once the control plane has had its first round of health checks: workers get no snapshot before. */
  readonly firstRound: Promise<void>;
  /** The metrics text or /v1/backends of the whole group, from every worker's readings (asked on a worker's main port). */
  groupView(what: GroupView, perWorker: unknown[][]): Promise<string>;
  /** A worker's cache fills (h1, h2 pairs), already relayed to the other workers: for gossip. */
  fills?(keys: readonly number[]): void;
  /** A worker's cache removal notice, already relayed to the other workers: for gossip. */
  removal?(notice: RemovalNotice): void;
}

/**
 * The primary of `--workers N`: forks N copies of this process, which share the listen socket
 * through node:cluster, replaces a worker that dies, and passes SIGTERM/SIGINT on to all of them.
 * The primary owns the control plane (health checks, DNS, membership): a worker says hello, gets
 * the full snapshot (once the first round of checks is done), then every change in order, and
 * reports request failures and ejections back as evidence.
 */
export interface Workers {
  stop(signal: NodeJS.Signals): void;
  /** Every live worker's backend readings (for summed metrics). */
  collect(): Promise<unknown[][]>;
  /** Tells every worker of fills another sidecar stored (gossip's cache news). */
  tellFills(keys: readonly number[]): void;
  /** Tells every worker of a removal by another sidecar (gossip's cache news). */
  tellRemoval(notice: RemovalNotice): void;
}

export function supervise(count: number, shutdownTimeoutMs: number, s: Supervisor): Workers {
  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  let nextId = 0;
  const pending = new Map<number, (readings: unknown[]) => void>();
  const send = (w: Worker, m: PrimaryMessage): void => {
    if (w.isConnected()) w.send(m);
  };
  const follow = (w: Worker): void => {
    void s.firstRound.then(() => {
      if (!w.isConnected()) return;
      const unsubscribe = s.publisher.subscribe((m) => send(w, m));
      w.once('exit', unsubscribe);
      send(w, s.publisher.snapshot());
    });
  };
  const onMessage = (w: Worker, raw: unknown): void => {
    const decoded = decodeWorkerMessage(raw);
    if (!decoded.ok) {
      s.info(`worker ${w.process.pid}: message refused: ${decoded.error}`);
      return;
    }
    const m: WorkerMessage = decoded.message;
    if (m.type === 'hello') follow(w);
    else if (m.type === 'evidence') s.publisher.decide(m.evidence);
    else if (m.type === 'metrics') pending.get(m.id)?.(m.readings);
    else if (m.type === 'cache-removal') {
      each((other) => { if (other !== w) send(other, { v: PROTOCOL_VERSION, type: 'cache-removal', notice: m.notice }); });
      s.removal?.(m.notice);
    }
    else if (m.type === 'cache-fills') {
      each((other) => { if (other !== w) send(other, { v: PROTOCOL_VERSION, type: 'cache-fills', keys: m.keys }); });
      s.fills?.(m.keys);
    }
    else if (m.type === 'metrics-ask') {
      // The gossip members are the primary's alone: no need to ask every worker.
      const readings = m.what === 'members' ? Promise.resolve([]) : collect();
      void readings.then((perWorker) => s.groupView(m.what ?? 'metrics', perWorker)).then((text) => send(w, { v: PROTOCOL_VERSION, type: 'metrics-text', id: m.id, text }));
    }
    else {
      listening.add(w.id);
      if (!announced && listening.size >= count) {
        announced = true;
        s.onListening(m.address);
      }
    }
  };
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (raw: unknown) => onMessage(w, raw));
    return w;
  };
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    listening.delete(w.id);
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
  const collect = (): Promise<unknown[][]> => {
    const asks: Promise<unknown[]>[] = [];
    each((w) => {
      const id = nextId++;
      asks.push(new Promise((resolve) => {
        const timer = setTimeout(() => { pending.delete(id); resolve([]); }, COLLECT_TIMEOUT_MS);
        pending.set(id, (readings) => { clearTimeout(timer); pending.delete(id); resolve(readings); });
        send(w, { v: PROTOCOL_VERSION, type: 'metrics-request', id });
      }));
    });
    return Promise.all(asks);
  };
  return {
    stop(signal) {
      // A second signal is passed on too: each worker then exits at once instead of draining.
      if (stopping) {
        each((w) => w.process.kill(signal));
        // Two signals that reach a busy worker close together are delivered as one (pending signals
        // merge), and it would go on draining: one still running a second later is ended.
        setTimeout(() => each((w) => w.process.kill('SIGKILL')), 1_000).unref();
        return;
      }
      stopping = true;
      each((w) => w.process.kill(signal));
      // A worker that cannot drain in time is ended with its drain budget plus a margin.
      setTimeout(() => each((w) => w.process.kill('SIGKILL')), shutdownTimeoutMs + 5_000).unref();
      if (Object.keys(cluster.workers ?? {}).length === 0) s.onStopped();
    },
    collect,
    tellFills: (keys) => each((w) => send(w, { v: PROTOCOL_VERSION, type: 'cache-fills', keys })),
    tellRemoval: (notice) => each((w) => send(w, { v: PROTOCOL_VERSION, type: 'cache-removal', notice })),
  };
}
