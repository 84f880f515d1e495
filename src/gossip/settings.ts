/** The gossip member's view of the configuration, and the checks that need several options at once. */
import type { Config } from '../config/types.js';
import type { GossipSettings } from './agent.js';
import { parseKey } from './codec/crypto.js';
import { GOSSIP_PORT } from './values.js';
import { networkInterfaces } from 'node:os';

type GossipFields = Pick<Config, 'gossipBind' | 'gossipAdvertise' | 'join' | 'clusterName' | 'nodeName' | 'gossipKeys' | 'gossipProfile'>;

/** Gossip runs when it has an address to bind or a seed to join. */
export const gossipOn = (c: Partial<GossipFields>): boolean => c.gossipBind !== undefined || (c.join?.length ?? 0) > 0;

export function gossipOptionErrors(values: Partial<GossipFields>): string[] {
  const errors: string[] = [];
  if (!gossipOn(values) && ((values.gossipKeys?.length ?? 0) > 0 || values.clusterName !== undefined || values.gossipAdvertise !== undefined)) {
    errors.push('--gossip-key, --cluster-name and --gossip-advertise need --gossip-bind or --join');
  }
  return errors;
}

/** undefined when gossip is off. */
export function gossipSettings(c: GossipFields): GossipSettings | undefined {
  if (!gossipOn(c)) return undefined;
  return {
    bind: c.gossipBind ?? { host: '', port: GOSSIP_PORT },
    advertise: c.gossipAdvertise,
    seeds: c.join,
    nodeName: c.nodeName,
    clusterName: c.clusterName ?? '',
    keys: c.gossipKeys.map(parseKey),
    profile: c.gossipProfile,
  };
}

/** memberlist GetPrivateIP, roughly: the bind host when it is one address, else the first non-internal IPv4, else loopback. */
export function defaultAdvertiseHost(bindHost: string): string {
  if (bindHost !== '' && bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
