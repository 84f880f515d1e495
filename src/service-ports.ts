/**
 * --service-listeners HOST: one local port per ServicePort in the catalog, as Sidecar configured
 * HAProxy to do, so a client reaches a service at HOST:<its ServicePort> wherever its instances run.
 * An HTTP (or ws) service gets a forwarding engine of its own over a `sidecar://NAME:PORT` site,
 * with Outrigger's health checks, retries and drain; a tcp one gets a plain TCP relay. Ports open
 * and close as services appear and go (src/catalog/service-ports.ts decides which).
 */
import type { Config } from './config/types.js';
import type { Console } from './observe/console.js';
import type { Catalog } from './catalog/catalog.js';
import { planServicePorts, tcpTargets, type PortPlan } from './catalog/service-ports.js';
import { CatalogSource } from './catalog/source.js';
import { BackendPlane } from './control/plane.js';
import { RawEngine } from './proxy/raw/raw-engine.js';
import { TcpRelay } from './proxy/tcp-relay.js';
import type { BackendTls } from './tls/backend-tls.js';
import { FirstRound, forwardingContext } from './proxy/context.js';

interface OpenPort {
  readonly plan: PortPlan;
  close(graceMs: number): Promise<void>;
}

export class ServicePorts {
  private readonly open = new Map<number, OpenPort>();
  /** Ports that could not be bound, with why, reported once each until they change. */
  private readonly refused = new Map<number, string>();
  private readonly conflicts = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly config: Config, private readonly host: string, private readonly catalog: Catalog,
    private readonly backendTls: BackendTls, private readonly console: Console) {}

  start(): void {
    this.unsubscribe = this.catalog.subscribe(() => this.schedule());
    this.schedule();
  }

  /** Stops following the catalog and closes every port, draining for up to `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.applying;
    await Promise.all([...this.open.values()].map((p) => p.close(graceMs)));
    this.open.clear();
  }

  /** Changes are applied one round at a time, each against the catalog as it is then. */
  private schedule(): void {
    this.applying = this.applying.then(() => this.apply());
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const { plans, conflicts } = planServicePorts(this.catalog.servicesByName());
    for (const c of conflicts) if (!this.conflicts.has(c)) this.console.info(c);
    this.conflicts.clear();
    for (const c of conflicts) this.conflicts.add(c);
    const wanted = new Map(plans.map((p) => [p.port, p]));
    for (const [port, o] of [...this.open]) {
      const w = wanted.get(port);
      if (w !== undefined && w.name === o.plan.name && w.mode === o.plan.mode) continue;
      this.open.delete(port);
      await o.close(this.config.shutdownTimeout);
      this.console.info(`service port ${this.host}:${port} (${o.plan.name}) closed`);
    }
    for (const plan of plans) {
      if (this.open.has(plan.port)) continue;
      try {
        this.open.set(plan.port, await this.listen(plan));
        this.refused.delete(plan.port);
        this.console.info(`service port ${this.host}:${plan.port}: ${plan.name} (${plan.mode})`);
      } catch (err) {
        const why = (err as Error).message;
        if (this.refused.get(plan.port) !== why) this.console.info(`service port ${this.host}:${plan.port} (${plan.name}): cannot listen: ${why}`);
        this.refused.set(plan.port, why);
      }
    }
  }

  private async listen(plan: PortPlan): Promise<OpenPort> {
    if (plan.mode === 'tcp') {
      const relay = new TcpRelay(() => tcpTargets(this.catalog.servicesByName()[plan.name] ?? [], plan.port), this.config.connectTimeout,
        (message) => { if (this.config.log) this.console.info(`${plan.name}: ${message}`); });
      await relay.listen(this.host, plan.port);
      return { plan, close: (graceMs) => relay.close(graceMs) };
    }
    const site = { index: 0, source: `sidecar://${plan.name}:${plan.port}`, backends: [], catalog: [{ name: plan.name, servicePort: plan.port }] };
    const plane = new BackendPlane({ ...this.config, sites: [site], sitesFile: undefined }, this.backendTls, null, {
      info: (message) => this.console.info(message),
      dns: () => {},
    }, [new CatalogSource(this.catalog, [site])]);
    const startup = new FirstRound(plane.start(), this.config.healthTimeout);
    const ctx = forwardingContext(this.config, plane.upstreams, this.console, startup, { proto: 'http' });
    const engine = new RawEngine(ctx, { headerTimeoutMs: this.config.headerTimeout, idleTimeoutMs: this.config.idleTimeout });
    try {
      await engine.listen({ host: this.host, port: plan.port });
    } catch (err) {
      plane.stop();
      throw err;
    }
    return {
      plan,
      close: async (graceMs) => {
        await engine.drain(graceMs);
        plane.stop();
        for (const b of plane.upstreams.backends()) b.destroy();
      },
    };
  }
}

/** What ServiceDiscovery.openServicePorts takes: the ports on --service-listeners, started. */
export function servicePortsOpener(config: Config, backendTls: BackendTls, console: Console): (catalog: Catalog) => ServicePorts {
  return (catalog) => {
    const ports = new ServicePorts(config, config.serviceListeners ?? '127.0.0.1', catalog, backendTls, console);
    ports.start();
    return ports;
  };
}
