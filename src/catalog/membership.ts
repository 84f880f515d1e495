/**
 * What the catalog needs from cluster membership, in the shape of memberlist's Delegate and
 * EventDelegate (delegate.go, event_delegate.go), which is how Sidecar's catalog rode on it and how
 * src/gossip exposes its members. The catalog implements both sides; nothing here depends on
 * src/gossip, so a gossip agent, a test harness or a single node with no cluster can drive it.
 */

/** A member as the catalog sees it (a subset of memberlist's Node). */
export interface CatalogMember {
  readonly name: string;
  readonly addr: string;
  readonly meta: Uint8Array;
}

/** memberlist's Delegate, the methods the catalog implements. */
export interface CatalogDelegate {
  /** Meta for our alive messages, at most `limit` bytes. */
  nodeMeta(limit: number): Uint8Array;
  /** A user message (one encoded record) arrived. */
  notifyMsg(buf: Uint8Array): void;
  /** Records to piggyback on gossip; each costs `overhead` bytes on top of its length, all within `limit`. */
  getBroadcasts(overhead: number, limit: number): Uint8Array[];
  /** The whole catalog for a push/pull exchange. */
  localState(join: boolean): Uint8Array;
  mergeRemoteState(buf: Uint8Array, join: boolean): void;
}

/** memberlist's EventDelegate. */
export interface CatalogEvents {
  notifyJoin(member: CatalogMember): void;
  notifyLeave(member: CatalogMember): void;
  notifyUpdate(member: CatalogMember): void;
}
