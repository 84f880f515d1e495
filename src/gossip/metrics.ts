/** Gossip metrics in the Prometheus text format, read from plain counters at scrape time. */
import type { Memberlist } from './protocol/memberlist.js';
import type { MemberState } from './protocol/types.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class RttHistogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  count = 0;
  sum = 0;

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    BUCKETS.forEach((b, i) => { if (seconds <= b) this.counts[i]!++; });
  }
}

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

export function renderGossipMetrics(m: Memberlist, rtt: RttHistogram): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string): void => { out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`); };
  family('outrigger_gossip_members', 'gauge', 'Members known to this node, by state');
  for (const s of STATES) out.push(`outrigger_gossip_members{state="${s}"} ${m.table.count(s)}`);
  family('outrigger_gossip_health_score', 'gauge', 'Lifeguard local health score (0 is healthy)');
  out.push(`outrigger_gossip_health_score ${m.health}`);
  family('outrigger_gossip_probe_rtt_seconds', 'histogram', 'Round-trip time of acknowledged probes');
  BUCKETS.forEach((b, i) => out.push(`outrigger_gossip_probe_rtt_seconds_bucket{le="${b}"} ${rtt.counts[i]}`));
  out.push(`outrigger_gossip_probe_rtt_seconds_bucket{le="+Inf"} ${rtt.count}`,
    `outrigger_gossip_probe_rtt_seconds_sum ${rtt.sum}`, `outrigger_gossip_probe_rtt_seconds_count ${rtt.count}`);
  const s = m.stats;
  const counters: [string, string, number][] = [
    ['outrigger_gossip_probes_total', 'Probes started', s.probes],
    ['outrigger_gossip_probe_failures_total', 'Probes that got no ack', s.probeFailures],
    ['outrigger_gossip_suspicions_total', 'Members this node started to suspect', s.suspicions],
    ['outrigger_gossip_refutations_total', 'Times this node refuted a suspicion about itself', s.refutations],
    ['outrigger_gossip_packets_sent_total', 'UDP packets sent', s.packetsSent],
    ['outrigger_gossip_packets_received_total', 'UDP packets received', s.packetsReceived],
    ['outrigger_gossip_bytes_sent_total', 'UDP bytes sent', s.bytesSent],
    ['outrigger_gossip_bytes_received_total', 'UDP bytes received', s.bytesReceived],
    ['outrigger_gossip_streams_sent_total', 'TCP streams opened', s.streamsSent],
    ['outrigger_gossip_streams_received_total', 'TCP streams accepted', s.streamsReceived],
    ['outrigger_gossip_bad_packets_total', 'Packets or parts dropped as undecodable, unauthenticated or of another cluster', s.badPackets],
  ];
  for (const [name, help, v] of counters) { family(name, 'counter', help); out.push(`${name} ${v}`); }
  return out.join('\n') + '\n';
}
