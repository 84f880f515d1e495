/** Parsers of the catalog's flags (--api-address, --service, --static-config-file, --listener-url, --service-listeners). */
import fs from 'node:fs';
import { isIP } from 'node:net';
import type { ListenAddress, ServiceFlag } from '../config/types.js';
import { parseListenAddress } from '../config/listen.js';
import { fail, ok, type Result } from '../config/result.js';
import { fileError } from '../watch/file-watch.js';
import { parseServiceFlag, parseStaticConfig } from './local-config.js';
import { parseEngineAddress, type EngineAddress } from './docker-engine.js';

/** Sidecar's API port, on loopback: the API can drain services, so it is not served to the network unless asked. */
export const API_ADDRESS: ListenAddress = { host: '127.0.0.1', port: 7777 };

/** "host:port", or "off". */
export function parseApiAddress(text: string): Result<ListenAddress | undefined> {
  return text.trim().toLowerCase() === 'off' ? ok(undefined) : parseListenAddress(text);
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** NAME=http://host:port/health-path */
export function parseService(text: string): Result<ServiceFlag> {
  const parsed = parseServiceFlag(text.trim(), 'check');
  if (!parsed.ok) return fail(parsed.errors.join('; '));
  const eq = text.indexOf('=');
  const name = text.slice(0, eq).trim();
  if (!SERVICE_NAME.test(name)) return fail(`--service ${text}: the name may hold letters, digits, . _ - only`);
  return ok({ name, url: text.slice(eq + 1).trim() });
}

/** The file must be readable and valid at start; later edits are checked again and a bad one keeps the last good services. */
export function parseStaticConfigFile(text: string): Result<string> {
  const file = text.trim();
  if (file === '') return fail('needs a file name');
  let content: string;
  try { content = fs.readFileSync(file, 'utf8'); } catch (err) { return fail(`${file}: cannot read it (${fileError(err)})`); }
  const parsed = parseStaticConfig(content, 'check', '127.0.0.1');
  return parsed.ok ? ok(file) : fail(`${file}: ${parsed.errors.join('; ')}`);
}

export function parseListenerUrl(text: string): Result<string> {
  let url: URL;
  try { url = new URL(text.trim()); } catch { return fail(`${JSON.stringify(text)} is not a URL (http://host:port/path)`); }
  if (url.protocol !== 'http:') return fail(`${JSON.stringify(text)}: listeners are http:// URLs`);
  return ok(url.href);
}

/** --service-listeners: the address the service ports listen on (an IP literal), or "off". */
export function parseListenHost(text: string): Result<string | undefined> {
  const t = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (t.toLowerCase() === 'off') return ok(undefined);
  return isIP(t) !== 0 ? ok(t) : fail(`${JSON.stringify(text)} is not an IP address (127.0.0.1, ::1, 0.0.0.0)`);
}

/** A unix socket path, or DOCKER_HOST's `unix:///path` form; the Engine API over TCP is not supported. */
/** --docker-socket: unix:///path, a path, or tcp://host:port (TLS from DOCKER_TLS_VERIFY is added by resolveEngine). */
export function parseDockerSocket(text: string): Result<EngineAddress> {
  return parseEngineAddress(text);
}
