/**
 * The catalog's records in Sidecar's JSON shape (servers → services → instances), so Sidecar's
 * clients, listeners and dashboards read Outrigger's API unchanged. Two fields are Outrigger's own
 * and travel beside Sidecar's: `Version` (the owner's ordering of its own records, used instead of
 * comparing `Updated` across clocks) and `TombstonedBy` (who wrote a tombstone: its owner, or a
 * peer that saw the owner leave or go silent).
 */

/** Sidecar's status numbers (service.go). */
export const Status = { ALIVE: 0, TOMBSTONE: 1, UNHEALTHY: 2, UNKNOWN: 3, DRAINING: 4 } as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES: Readonly<Record<StatusCode, string>> = {
  0: 'alive', 1: 'tombstone', 2: 'unhealthy', 3: 'unknown', 4: 'draining',
};

export interface ServicePort {
  readonly Type: 'tcp' | 'udp';
  readonly Port: number;
  readonly ServicePort: number;
  readonly IP: string;
}

/**
 * Where a record stands in its owner's history: `epoch` is the owner's start (its clock, read
 * once per process life: a restart must order after everything the previous life sent), `seq`
 * counts the owner's changes within that life. Only the owner ever makes a new version.
 */
export interface Version {
  readonly epoch: number;
  readonly seq: number;
}

export interface Service {
  readonly ID: string;
  readonly Name: string;
  readonly Image: string;
  /** RFC 3339 */
  readonly Created: string;
  /** The owner: the node (member name) that runs and checks this instance. */
  readonly Hostname: string;
  readonly Ports: readonly ServicePort[];
  /** RFC 3339, the owner's clock: shown, never compared. */
  readonly Updated: string;
  readonly ProxyMode: 'http' | 'tcp' | 'ws';
  readonly Status: StatusCode;
  readonly Version: Version;
  /** Set on tombstones: the owner (its service went away) or the peer that expired it. */
  readonly TombstonedBy?: string;
}

/** Orders two versions of the same record: negative when `a` is older. */
export function compareVersions(a: Version, b: Version): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.seq - b.seq;
}
