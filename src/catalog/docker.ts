/**
 * Docker discovery with Sidecar's labels (docker_discovery.go), through the Engine API
 * (docker-engine.ts: a unix socket or tcp://, as DOCKER_HOST): the running containers, listed
 * again on each container event and every interval; each with a published port and no
 * `SidecarDiscover=false` becomes a local service. Labels: `ServiceName` (else the image's name),
 * `ServicePort_<private>=<service port>` (else the private port), `HealthCheck` and
 * `HealthCheckArgs` (else a TCP connect to the first port, as for the static file), `ProxyMode`,
 * `SidecarListener=<service port>` (every change is POSTed to /sidecar/update on the published
 * port of that service port, while the container runs).
 * A container that stops is dropped on its event (die, stop, destroy), else by the next list;
 * its service becomes a tombstone.
 */
import { EngineClient, engineText, type EngineAddress } from './docker-engine.js';
import { DockerEvents, type ContainerEvent, type EventsOwner } from './docker-events.js';
import type { LocalSpec } from './local-config.js';
import { listenerUrl, parseCheck } from './local-config.js';
import { Status, type ServicePort } from './types.js';

/** The fields of GET /containers/json this uses. */
export interface Container {
  readonly Id: string;
  readonly Image: string;
  /** Unix seconds. */
  readonly Created: number;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly Ports?: readonly { readonly IP?: string; readonly PrivatePort: number; readonly PublicPort?: number; readonly Type: string }[] | null;
}

/** The service of one container; null when it is not discovered, a string when its labels are wrong. */
export function containerSpec(c: Container, ip: string): LocalSpec | null | string {
  const labels = c.Labels ?? {};
  if ((labels['SidecarDiscover'] ?? '').toLowerCase() === 'false') return null;
  const ports: ServicePort[] = [];
  for (const p of c.Ports ?? []) {
    if (p.PublicPort === undefined || p.PublicPort === 0 || (p.Type !== 'tcp' && p.Type !== 'udp')) continue;
    const mapped = labels[`ServicePort_${p.PrivatePort}`];
    const servicePort = mapped === undefined ? p.PrivatePort : Number(mapped);
    if (!Number.isInteger(servicePort) || servicePort < 1 || servicePort > 65_535) return `label ServicePort_${p.PrivatePort}=${mapped} is not a port`;
    const bound = p.IP !== undefined && p.IP !== '' && p.IP !== '0.0.0.0' && p.IP !== '::' ? p.IP : ip;
    ports.push({ Type: p.Type, Port: p.PublicPort, ServicePort: servicePort, IP: bound });
  }
  if (ports.length === 0) return null;
  const mode = labels['ProxyMode'] ?? 'http';
  if (mode !== 'http' && mode !== 'tcp' && mode !== 'ws') return `label ProxyMode=${mode}: must be http, tcp or ws`;
  const check = parseCheck(labels['HealthCheck'] === undefined ? undefined : { Type: labels['HealthCheck'], Args: labels['HealthCheckArgs'] ?? '' }, ports, ip);
  if (typeof check === 'string') return `label HealthCheck: ${check}`;
  const name = labels['ServiceName'] ?? imageName(c.Image);
  const spec: LocalSpec = {
    service: { ID: c.Id.slice(0, 12), Name: name, Image: c.Image, Created: new Date(c.Created * 1000).toISOString(), Ports: ports, ProxyMode: mode, Status: Status.UNKNOWN },
    check,
  };
  const listen = labels['SidecarListener'];
  if (listen === undefined) return spec;
  const target = ports.find((p) => p.Type === 'tcp' && p.ServicePort === Number(listen));
  if (target === undefined) return `label SidecarListener=${listen} names no tcp ServicePort of the container`;
  return { ...spec, listener: listenerUrl(target.IP, target.Port) };
}

/** "registry:5000/org/web:1.2" -> "web". */
function imageName(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split('@')[0]!.split(':')[0]!;
}

/** GET /containers/json: the running containers. */
export function listContainers(engine: EngineClient, timeoutMs: number): Promise<Container[]> {
  return new Promise((resolve, reject) => {
    const req = engine.get('/containers/json', timeoutMs, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET /containers/json answered ${res.statusCode}`));
        try {
          const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          if (!Array.isArray(list)) throw new Error('not a list');
          resolve(list.filter((c): c is Container => typeof c?.Id === 'string' && typeof c?.Image === 'string'));
        } catch (err) {
          reject(new Error(`GET /containers/json: ${(err as Error).message}`));
        }
      });
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/**
 * Follows the engine's containers and hands over their services: the event stream (docker-events.ts)
 * drops a container that stops at once and lists again on any change; the list every interval is
 * the safety net. Problems are logged once each.
 */
export class DockerDiscovery implements EventsOwner {
  private readonly engine: EngineClient;
  private readonly events: DockerEvents;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private polling = false;
  /** A list was asked for while one was running: another follows it. */
  private again = false;
  /** Counts events: a list that was running when one came may predate it, so it is not used. */
  private generation = 0;
  /** The services last handed over. */
  private specs: LocalSpec[] = [];
  private reported = new Set<string>();

  constructor(engine: EngineAddress, private readonly ip: string, private readonly intervalMs: number,
    private readonly onSpecs: (specs: LocalSpec[]) => void, private readonly log: (message: string) => void) {
    this.engine = new EngineClient(engine);
    this.events = new DockerEvents(this.engine, this, log);
  }

  start(): void {
    this.running = true;
    this.events.start();
    this.pollNow();
  }

  stop(): void {
    this.running = false;
    this.events.stop();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  containerEvent(e: ContainerEvent): void {
    this.generation++;
    if (e.action !== 'start') this.forget(e.id);
    this.pollNow();
  }

  following(): void {
    this.pollNow();
  }

  /** A container that stopped: its service goes now, not at the next list. */
  private forget(id: string): void {
    const short = id.slice(0, 12);
    const kept = this.specs.filter((s) => s.service.ID !== short);
    if (kept.length === this.specs.length) return;
    this.specs = kept;
    this.onSpecs(kept);
  }

  /** Lists now (after the list under way, if one is). */
  private pollNow(): void {
    if (!this.running) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.polling = true;
    void this.poll().finally(() => {
      this.polling = false;
      if (!this.running) return;
      if (this.again) {
        this.again = false;
        this.pollNow();
      } else {
        this.timer = setTimeout(() => this.pollNow(), this.intervalMs).unref();
      }
    });
  }

  /** One list; on a failed one the services in use stay (the checks still judge them). */
  private async poll(): Promise<void> {
    const generation = this.generation;
    let containers: Container[];
    try {
      containers = await listContainers(this.engine, this.intervalMs * 2 + 1000);
    } catch (err) {
      this.once(`docker ${engineText(this.engine.address)}: ${(err as Error).message}; keeping the services in use`);
      return;
    }
    // An event came meanwhile: this list may predate it, and another one follows.
    if (generation !== this.generation) return;
    const specs: LocalSpec[] = [];
    const problems = new Set<string>();
    for (const c of containers) {
      const spec = containerSpec(c, this.ip);
      if (typeof spec === 'string') problems.add(`docker container ${c.Id.slice(0, 12)}: ${spec}; not announced`);
      else if (spec !== null) specs.push(spec);
    }
    for (const p of problems) this.once(p);
    this.reported = new Set([...this.reported].filter((p) => problems.has(p)));
    this.specs = specs;
    this.onSpecs(specs);
  }

  private once(message: string): void {
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.log(message);
  }
}
