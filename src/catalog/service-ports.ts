/**
 * --service-listeners: what Sidecar had HAProxy do, planned from the catalog. Every ServicePort of
 * a service known in the cluster gets one local port, HTTP (ws too) or a TCP relay by the
 * service's ProxyMode. This module only decides which ports, for what, and where their
 * connections may go; src/service-ports.ts opens and closes the listeners.
 */
import { alivePort } from './source.js';
import { Status, type Service } from './types.js';

export interface PortPlan {
  readonly port: number;
  readonly name: string;
  readonly mode: Service['ProxyMode'];
}

export interface Plans {
  readonly plans: PortPlan[];
  /** A port two services claim: the one whose oldest instance is older keeps it (as Sidecar's PR #64 did). */
  readonly conflicts: string[];
}

/**
 * The ports wanted now. A service keeps its port while any instance of it is not a tombstone, so a
 * port does not close and reopen as instances flap; with no ALIVE instance an HTTP port answers 502
 * and a TCP port closes each connection.
 */
export function planServicePorts(byName: Readonly<Record<string, readonly Service[]>>): Plans {
  const claims = new Map<number, { plan: PortPlan; since: string }[]>();
  for (const [name, instances] of Object.entries(byName)) {
    const live = instances.filter((s) => s.Status !== Status.TOMBSTONE);
    if (live.length === 0) continue;
    const oldest = live.reduce((a, b) => (b.Created < a.Created ? b : a));
    const ports = new Set(live.flatMap((s) => s.Ports.filter((p) => p.Type === 'tcp').map((p) => p.ServicePort)));
    for (const port of ports) {
      const list = claims.get(port) ?? [];
      list.push({ plan: { port, name, mode: oldest.ProxyMode }, since: oldest.Created });
      claims.set(port, list);
    }
  }
  const plans: PortPlan[] = [];
  const conflicts: string[] = [];
  for (const [port, list] of [...claims].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => a.since.localeCompare(b.since) || a.plan.name.localeCompare(b.plan.name));
    plans.push(list[0]!.plan);
    for (const loser of list.slice(1)) conflicts.push(`service port ${port}: ${loser.plan.name} wants it too; ${list[0]!.plan.name} keeps it (its instances are older)`);
  }
  return { plans, conflicts };
}

/** Where a TCP connection to `name`'s ServicePort may go: its ALIVE instances, in a stable order. */
export function tcpTargets(instances: readonly Service[], servicePort: number): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const s of instances) {
    const p = alivePort(s, servicePort);
    if (p !== undefined) out.push({ host: p.IP, port: p.Port });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
}
