import { createHash } from 'node:crypto';
import { CHECK_TYPES, type CheckSpec } from './checks.js';
import type { LocalService } from './state.js';
import { Status, type ServicePort } from './types.js';

/** One local service to announce and check. */
export interface LocalSpec {
  readonly service: LocalService;
  readonly check: CheckSpec;
  /** Where the service wants every catalog change POSTed (the static file's `ListenPort`, Docker's `SidecarListener`). */
  readonly listener?: string;
}

/** Sidecar's path for listeners subscribed by port. */
export function listenerUrl(ip: string, port: number): string {
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/sidecar/update`;
}

export type Parsed = { ok: true; specs: LocalSpec[] } | { ok: false; errors: string[] };

/**
 * Sidecar's static discovery file (STATIC_CONFIG_FILE): a JSON array of
 * `{"Service":{"Name","Image","Ports":[{"Type","Port","ServicePort"}],"ProxyMode"},"Check":{"Type","Args"},"ListenPort"}`
 * (`ListenPort`: the service gets every change POSTed to http://<ip>:<ListenPort>/sidecar/update).
 * Every problem is reported with the entry's index; nothing is taken from a file with any.
 * IDs are derived from host, name and ports, so they stay the same across restarts (Sidecar's
 * were random per start, so every restart looked like a new instance and left a tombstone).
 */
export function parseStaticConfig(text: string, host: string, ip: string): Parsed {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (err) { return { ok: false, errors: [`not JSON: ${(err as Error).message}`] }; }
  if (!Array.isArray(doc)) return { ok: false, errors: ['the file must hold a JSON array of {"Service": …, "Check": …}'] };
  const errors: string[] = [];
  const specs: LocalSpec[] = [];
  doc.forEach((entry: unknown, i) => {
    const where = `entry ${i + 1}`;
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const s = (typeof e['Service'] === 'object' && e['Service'] !== null ? e['Service'] : null) as Record<string, unknown> | null;
    if (s === null || typeof s['Name'] !== 'string' || s['Name'] === '') return void errors.push(`${where}: needs "Service" with a "Name"`);
    const ports = parsePorts(s['Ports'], ip);
    if (typeof ports === 'string') return void errors.push(`${where} (${s['Name']}): ${ports}`);
    const check = parseCheck(e['Check'], ports, ip);
    if (typeof check === 'string') return void errors.push(`${where} (${s['Name']}): ${check}`);
    const mode = s['ProxyMode'] ?? 'http';
    if (mode !== 'http' && mode !== 'tcp' && mode !== 'ws') return void errors.push(`${where} (${s['Name']}): ProxyMode must be http, tcp or ws`);
    const listen = e['ListenPort'];
    if (listen !== undefined && !validPort(listen)) return void errors.push(`${where} (${s['Name']}): ListenPort must be 1..65535, not ${JSON.stringify(listen)}`);
    const spec = { service: service(host, String(s['Name']), typeof s['Image'] === 'string' ? s['Image'] : '', ports, mode), check };
    specs.push(listen === undefined ? spec : { ...spec, listener: listenerUrl(ip, listen) });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, specs };
}

/** `--service NAME=URL`: one instance at the URL's host and port, checked by GET of the URL. */
export function parseServiceFlag(text: string, host: string): Parsed {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq);
  let url: URL;
  try { url = new URL(text.slice(eq + 1)); } catch { return { ok: false, errors: [`--service ${text}: expected NAME=http://host:port/health-path`] }; }
  if (eq <= 0 || url.protocol !== 'http:') return { ok: false, errors: [`--service ${text}: expected NAME=http://host:port/health-path`] };
  const port = Number(url.port || 80);
  const ports: ServicePort[] = [{ Type: 'tcp', Port: port, ServicePort: port, IP: url.hostname }];
  return { ok: true, specs: [{ service: service(host, name, '', ports, 'http'), check: { Type: 'HttpGet', Args: url.href } }] };
}

function parsePorts(value: unknown, ip: string): ServicePort[] | string {
  if (!Array.isArray(value)) return '"Ports" must be a list';
  const out: ServicePort[] = [];
  for (const p of value as Record<string, unknown>[]) {
    const type = p?.['Type'] ?? 'tcp';
    const port = p?.['Port'];
    const servicePort = p?.['ServicePort'] ?? port;
    if (type !== 'tcp' && type !== 'udp') return `port Type must be tcp or udp, not ${JSON.stringify(type)}`;
    if (!validPort(port) || !validPort(servicePort)) return `ports must be 1..65535: ${JSON.stringify(p)}`;
    out.push({ Type: type, Port: port, ServicePort: servicePort, IP: typeof p['IP'] === 'string' ? p['IP'] : ip });
  }
  return out;
}

/** No check given: connect to the first TCP port (Sidecar's default GET of /version surprised people, #28); no port: always successful. */
export function parseCheck(value: unknown, ports: readonly ServicePort[], ip: string): CheckSpec | string {
  if (value === undefined) {
    const tcp = ports.find((p) => p.Type === 'tcp');
    return tcp === undefined ? { Type: 'AlwaysSuccessful', Args: '' } : { Type: 'TCP', Args: `${ip}:${tcp.Port}` };
  }
  const c = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (!CHECK_TYPES.includes(c['Type'] as CheckSpec['Type'])) return `Check Type must be one of ${CHECK_TYPES.join(', ')}`;
  return { Type: c['Type'] as CheckSpec['Type'], Args: typeof c['Args'] === 'string' ? c['Args'] : '' };
}

function validPort(p: unknown): p is number {
  return Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65_535;
}

function service(host: string, name: string, image: string, ports: ServicePort[], mode: 'http' | 'tcp' | 'ws'): LocalService {
  const id = createHash('sha256').update(`${host}\n${name}\n${JSON.stringify(ports)}`).digest('hex').slice(0, 12);
  return { ID: id, Name: name, Image: image, Created: new Date().toISOString(), Ports: ports, ProxyMode: mode, Status: Status.UNKNOWN };
}
