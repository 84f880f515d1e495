/**
 * Protocol settings, named and defaulted as memberlist's Config
 * (config.go: DefaultLANConfig, DefaultWANConfig). Durations in ms.
 */
export interface GossipConfig {
  readonly name: string;
  readonly advertiseAddr: string;
  readonly advertisePort: number;
  /** Used for a port of 0 in received messages, as memberlist does. */
  readonly bindPort: number;
  readonly protocolVersion: number;
  readonly delegateProtocolMin: number;
  readonly delegateProtocolMax: number;
  readonly delegateProtocolVersion: number;
  readonly tcpTimeout: number;
  readonly indirectChecks: number;
  readonly retransmitMult: number;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  readonly pushPullInterval: number;
  readonly probeInterval: number;
  readonly probeTimeout: number;
  readonly disableTcpPings: boolean;
  readonly awarenessMaxMultiplier: number;
  readonly gossipInterval: number;
  readonly gossipNodes: number;
  readonly gossipToTheDeadTime: number;
  readonly deadNodeReclaimTime: number;
  readonly udpBufferSize: number;
  readonly enableCompression: boolean;
  readonly gossipVerifyIncoming: boolean;
  /** memberlist ≥ 0.3.0 label; "" for none (0.2.2 compatible). */
  readonly label: string;
  /**
   * Lifeguard's three refinements (local health, shrinking suspicion timeout
   * with confirmations, nacks and the buddy hint). Off = plain SWIM with a
   * fixed suspicion timeout, for the simulator's comparison.
   */
  readonly lifeguard: boolean;
}

export const LAN_DEFAULTS = {
  bindPort: 7946,
  protocolVersion: 2,
  delegateProtocolMin: 0,
  delegateProtocolMax: 0,
  delegateProtocolVersion: 0,
  tcpTimeout: 10_000,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  pushPullInterval: 30_000,
  probeInterval: 1_000,
  probeTimeout: 500,
  disableTcpPings: false,
  awarenessMaxMultiplier: 8,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDeadTime: 30_000,
  deadNodeReclaimTime: 0,
  udpBufferSize: 1400,
  enableCompression: true,
  gossipVerifyIncoming: true,
  label: '',
  lifeguard: true,
} as const;

/** DefaultWANConfig: slower probing and gossip for links with more latency. */
export const WAN_DEFAULTS = {
  ...LAN_DEFAULTS,
  tcpTimeout: 30_000,
  suspicionMult: 6,
  pushPullInterval: 60_000,
  probeTimeout: 3_000,
  probeInterval: 5_000,
  gossipNodes: 4,
  gossipInterval: 500,
  gossipToTheDeadTime: 60_000,
} as const;

export type Profile = 'lan' | 'wan';

export function makeConfig(profile: Profile, own: Pick<GossipConfig, 'name' | 'advertiseAddr' | 'advertisePort'> & Partial<GossipConfig>): GossipConfig {
  return { ...(profile === 'wan' ? WAN_DEFAULTS : LAN_DEFAULTS), ...own };
}

/** memberlist util.go suspicionTimeout: SuspicionMult × max(1, log10 n) × ProbeInterval. */
export function suspicionTimeout(mult: number, n: number, interval: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor((mult * Math.floor(scale * 1000) * interval) / 1000);
}

/** memberlist util.go retransmitLimit: mult × ⌈log10(n + 1)⌉. */
export const retransmitLimit = (mult: number, n: number): number => mult * Math.ceil(Math.log10(n + 1));

/** memberlist util.go pushPullScale: slower anti-entropy above 32 nodes. */
export function pushPullScale(interval: number, n: number): number {
  if (n <= 32) return interval;
  return interval * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
}
