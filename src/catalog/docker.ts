/**
 * Docker discovery with Sidecar's labels (docker_discovery.go), through the Engine API on its unix
 * socket: every interval, the running containers; each with a published port and no
 * `SidecarDiscover=false` becomes a local service. Labels: `ServiceName` (else the image's name),
 * `ServicePort_<private>=<service port>` (else the private port), `HealthCheck` and
 * `HealthCheckArgs` (else a TCP connect to the first port, as for the static file), `ProxyMode`,
 * `SidecarListener=<service port>` (every change is POSTed to /sidecar/update on the published
 * port of that service port, while the container runs).
 * A container that stops is gone from the next list, and so is its service (a tombstone).
 */
import http from 'node:http';
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

/** GET /containers/json on the Engine API's unix socket. */
export function listContainers(socketPath: string, timeoutMs: number): Promise<Container[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/containers/json', timeout: timeoutMs, headers: { Host: 'docker' } }, (res) => {
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

/** Lists the containers every interval and hands over their services; problems are logged once each. */
export class DockerDiscovery {
  private timer: NodeJS.Timeout | null = null;
  private reported = new Set<string>();

  constructor(private readonly socketPath: string, private readonly ip: string, private readonly intervalMs: number,
    private readonly onSpecs: (specs: LocalSpec[]) => void, private readonly log: (message: string) => void) {}

  start(): void {
    const round = (): void => {
      void this.poll().finally(() => {
        if (this.timer !== null) this.timer = setTimeout(round, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(round, 0).unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round; on a failed list the services in use stay (the checks still judge them). */
  async poll(): Promise<void> {
    let containers: Container[];
    try {
      containers = await listContainers(this.socketPath, this.intervalMs * 2 + 1000);
    } catch (err) {
      this.once(`docker ${this.socketPath}: ${(err as Error).message}; keeping the services in use`);
      return;
    }
    const specs: LocalSpec[] = [];
    const problems = new Set<string>();
    for (const c of containers) {
      const spec = containerSpec(c, this.ip);
      if (typeof spec === 'string') problems.add(`docker container ${c.Id.slice(0, 12)}: ${spec}; not announced`);
      else if (spec !== null) specs.push(spec);
    }
    for (const p of problems) this.once(p);
    this.reported = new Set([...this.reported].filter((p) => problems.has(p)));
    this.onSpecs(specs);
  }

  private once(message: string): void {
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.log(message);
  }
}
