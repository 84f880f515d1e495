/** `sidecar://NAME[:SERVICEPORT]` in a SITE: every ALIVE instance of a catalog service (src/catalog/source.ts). */
import type { CatalogRef } from '../config/types.js';
import { fail, ok, type Result } from '../config/result.js';

export const SIDECAR_SCHEME = 'sidecar://';

export function isSidecarRef(zone: string): boolean {
  return zone.toLowerCase().startsWith(SIDECAR_SCHEME);
}

/** Service names as Sidecar's labels carry them: letters, digits, '.', '_' and '-'. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseSidecarRef(zone: string): Result<CatalogRef> {
  const rest = zone.slice(SIDECAR_SCHEME.length).replace(/\/+$/, '');
  const colon = rest.lastIndexOf(':');
  const name = colon < 0 ? rest : rest.slice(0, colon);
  const portText = colon < 0 ? undefined : rest.slice(colon + 1);
  if (!NAME.test(name)) return fail(`${zone}: expected sidecar://NAME or sidecar://NAME:SERVICEPORT (NAME of letters, digits, . _ -)`);
  if (portText === undefined) return ok({ name, servicePort: undefined });
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65_535) return fail(`${zone}: the service port must be 1..65535`);
  return ok({ name, servicePort: port });
}
