/** Outrigger processes running the service catalog on loopback, and what their API says. */
import assert from 'node:assert/strict';
import type { Cleanup } from './cleanup.js';
import { startOutrigger, type Outrigger } from './outrigger.js';
import { waitFor } from './wait.js';
import { SPREAD_MS } from './spread.js';
import type { TestBackend } from './backends.js';

export interface Instance { ID: string; Name: string; Hostname: string; Status: number; Ports: { Port: number }[] }
export interface ServicesDoc { Services: Record<string, Instance[]>; ClusterMembers: Record<string, unknown> }
export const STATUS = { ALIVE: 0, TOMBSTONE: 1, UNHEALTHY: 2, UNKNOWN: 3, DRAINING: 4 } as const;

export interface CatalogNode { readonly name: string; readonly o: Outrigger; readonly api: string }

/**
 * One gossiping node with kernel-picked ports, announcing `services` (name and backend, checked
 * by GET /health every 300 ms) and balancing `sidecar://echo`.
 */
export async function startCatalogNode(cleanup: Cleanup, name: string, services: readonly [string, TestBackend][], extra: readonly string[] = []): Promise<CatalogNode> {
  const o = await startOutrigger(['--gossip-bind', '127.0.0.1:0', '--api-address', '127.0.0.1:0', '--node-name', name, '--log',
    '--service-check-interval', '300ms', '--health-duration', '1s', ...services.flatMap(([n, b]) => ['--service', `${n}=${b.url}/health`]),
    ...extra, 'sidecar://echo']);
  cleanup.track(o);
  return catalogNodeOf(name, o);
}

/** A started Outrigger as a catalog node, once it has said where its API listens. */
export async function catalogNodeOf(name: string, o: Outrigger): Promise<CatalogNode> {
  const api = /catalog API on (http:\/\/127\.0\.0\.1:\d+)/;
  await o.output(api);
  return { name, o, api: api.exec(o.stdout)![1]! };
}

/** `--join` address of a node started by startCatalogNode. */
export function seedOf(n: CatalogNode): string {
  return `127.0.0.1:${/gossip: \S+ on 127\.0\.0\.1:(\d+)/.exec(n.o.stdout)![1]}`;
}

export async function servicesOf(n: CatalogNode): Promise<ServicesDoc> {
  const res = await fetch(`${n.api}/api/services.json`);
  assert.equal(res.status, 200);
  return (await res.json()) as ServicesDoc;
}

/** The status of the instance on `port`, as `n` sees it (undefined: unknown there). */
export async function statusAt(n: CatalogNode, port: number): Promise<number | undefined> {
  return Object.values((await servicesOf(n)).Services).flat().find((s) => s.Ports[0]?.Port === port)?.Status;
}

/** Wait until every node sees the instance on `port` with `status`; a timeout names what each node saw. */
export async function untilEverywhere(nodes: readonly CatalogNode[], port: number, status: number, what: string, timeoutMs = SPREAD_MS): Promise<void> {
  let seen: (number | undefined)[] = [];
  try {
    await waitFor(async () => {
      seen = await Promise.all(nodes.map((n) => statusAt(n, port)));
      return seen.every((s) => s === status);
    }, timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message} (status ${status}); seen: ${nodes.map((n, i) => `${n.name}=${seen[i]}`).join(' ')}`);
  }
}
