// 5 real Outrigger processes, each in its own network namespace on one bridge, with 5% of the
// packets on every path between them dropped, UDP and TCP alike, for a bounded run at the LAN
// profile: no live member may be declared dead, and a kill -9 must still be detected.
//
// The loss is not `tc netem loss 5%`: this kernel has no netem qdisc (nor the gact action or
// iptables' statistic match). It is a tc filter on each namespace's veth, a classic-BPF program
// that drops a packet when the kernel's random number is below 5% of 2³² (see
// test/support/netns.ts, lossBytecode); the qdisc's own counters show what it dropped. Needs
// root, iproute2 and cls_bpf; skips otherwise, naming what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup } from './support/cleanup.js';
import { allAlive, lossUnavailable, NetnsLab, type NsNode, view } from './support/netns.js';
import { SPREAD_MS } from './support/spread.js';
import { waitFor } from './support/wait.js';

const lab = new NetnsLab(new Cleanup(), 214);
const reason = lossUnavailable(lab.ns(0));

const SHARE = 0.05;
const RUN_MS = 120_000;
// As in test/gossip-cluster.test.ts: a probe round over the 4 others and the probe (5 s), then at
// worst Lifeguard's full suspicion timeout, 6 × 4 × 1 s; plus time for the news to spread.
const DETECTION_BOUND_MS = 29_000 + SPREAD_MS;

async function counter(n: NsNode, name: string): Promise<number> {
  const text = await (await fetch(`${n.base}/.prometheus/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}."]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${n.name} reports ${name}`);
  return Number(m[1]);
}

const sum = async (nodes: readonly NsNode[], name: string): Promise<number> =>
  (await Promise.all(nodes.map((n) => counter(n, name)))).reduce((a, b) => a + b, 0);

/** The cluster's gossip counters, summed over its members. */
async function totals(nodes: readonly NsNode[]): Promise<Record<'sent' | 'received' | 'failures' | 'suspicions' | 'acked' | 'ackedInTime', number>> {
  const [sent, received, failures, suspicions, acked, ackedInTime] = await Promise.all([
    'packets_sent_total', 'packets_received_total', 'probe_failures_total', 'suspicions_total',
    'probe_rtt_seconds_count', 'probe_rtt_seconds_bucket{le="0.5"}',
  ].map((c) => sum(nodes, `outrigger_gossip_${c}`)));
  return { sent: sent!, received: received!, failures: failures!, suspicions: suspicions!, acked: acked!, ackedInTime: ackedInTime! };
}

/** "gossip: member X failed" lines logged by `n` after `from` characters of its output. */
const failuresSince = (n: NsNode, from: number): string[] => n.out.slice(from).match(/gossip: member \S+ failed/g) ?? [];

test(`${SHARE * 100}% packet loss on every path for ${RUN_MS / 1000} s: no false deaths; kill -9 is still detected`,
  { skip: reason ?? false, timeout: 290_000 }, async (t) => {
    lab.setUp(5);
    const seed = await lab.start(1, []);
    const join = ['--join', `${seed.addr}:${(await view(seed)).get('ns1')!.port}`];
    const nodes = [seed, ...await Promise.all([2, 3, 4, 5].map((i) => lab.start(i, join)))];
    await waitFor(allAlive(nodes, 5), 40_000, '5 alive everywhere');

    for (let i = 1; i <= 5; i++) lab.lose(i, SHARE);
    const logFrom = nodes.map((n) => n.out.length);
    const before = await totals(nodes);
    // The bounded run: the processes gossip on their own for RUN_MS; nothing is awaited but the time.
    await new Promise((r) => setTimeout(r, RUN_MS));

    const falseDeaths = nodes.flatMap((n, i) => failuresSince(n, logFrom[i]!).map((line) => `${n.name}: ${line}`));
    const filters = [1, 2, 3, 4, 5].map((i) => lab.lossCounts(i));
    const packets = filters.reduce((a, f) => a + f.packets, 0);
    const drops = filters.reduce((a, f) => a + f.drops, 0);
    const after = await totals(nodes);
    const delta = (k: keyof typeof after): number => after[k] - before[k];
    // An ack later than ProbeTimeout (500 ms) came through an indirect probe or the TCP ping.
    const rescued = delta('acked') - delta('ackedInTime');
    t.diagnostic(`filters dropped ${drops} of ${packets} packets (those to the test spared); gossip UDP ` +
      `${delta('sent')} sent, ${delta('received')} received; ` +
      `${delta('acked')} probes acked, ${rescued} of them only after ProbeTimeout; ${delta('failures')} failed probes, ` +
      `${delta('suspicions')} suspicions, ${falseDeaths.length} false deaths`);

    assert.deepEqual(falseDeaths, [], 'no live member declared dead under loss');
    assert.ok(await allAlive(nodes, 5)(), 'all 5 alive everywhere at the end of the run');
    assert.ok(filters.every((f) => f.drops > 0), 'every namespace dropped packets');
    // The filters' own counts also hold the packets they spared (answers to this test's HTTP
    // requests); the members' UDP counters show the loss on the gossip paths alone.
    const udpLost = 1 - delta('received') / delta('sent');
    assert.ok(udpLost > 0.03 && udpLost < 0.07, `${(100 * udpLost).toFixed(2)}% of the gossip datagrams lost, not about ${SHARE * 100}%`);
    assert.ok(rescued > 0, 'the loss made direct probes miss: some acks came only through indirect or TCP probes');

    const victim = nodes[4]!;
    const survivors = nodes.slice(0, 4);
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await waitFor(async () => (await Promise.all(survivors.map(view))).every((v) => v.get('ns5')?.state === 'dead'),
      DETECTION_BOUND_MS, 'ns5 dead at all 4 survivors', 200);
    t.diagnostic(`kill -9 under loss → dead at all 4 survivors after ${Date.now() - killedAt} ms`);
    const wronglyDead = survivors.flatMap((n, i) => failuresSince(n, logFrom[i]!).filter((l) => !l.includes('ns5')));
    assert.deepEqual(wronglyDead, [], 'only the killed member was declared dead');
  });
