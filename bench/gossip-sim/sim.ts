/**
 * The gossip simulator: `node dist/bench/gossip-sim/sim.js [quick] [detection|fp] [MEMBERS:TRIALS…]`
 * prints the tables of bench/gossip-sim/RESULTS.md. Deterministic for given seeds.
 */
import { detection, falsePositives, type Stall } from './scenarios.js';

const quick = process.argv.includes('quick');
const fmt = (ms: number): string => (ms / 1000).toFixed(2);
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function detectionTable(): Promise<void> {
  console.log('| nodes | trials | first detection s (median, max) | all nodes know s (median, max) | UDP messages/node/s | UDP bytes/node/s | TCP bytes/node/s | all bytes/node/s | wall s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  // Sizes as MEMBERS:TRIALS arguments, e.g. `sim.js detection 10:10 100:5 1000:1`.
  const given = process.argv.filter((a) => /^\d+:\d+$/.test(a)).map((a) => a.split(':').map(Number) as [number, number]);
  const plan: [number, number][] = given.length > 0 ? given : quick ? [[10, 3], [100, 2]] : [[10, 10], [100, 5], [1000, 1]];
  for (const [n, trials] of plan) {
    const started = Date.now();
    const runs = [];
    for (let s = 1; s <= trials; s++) runs.push(await detection(n, s));
    const first = runs.map((r) => r.first);
    const all = runs.map((r) => r.all);
    const msgs = median(runs.map((r) => r.load.msgsPerNodeSec));
    const bytes = median(runs.map((r) => r.load.bytesPerNodeSec));
    const tcp = median(runs.map((r) => r.load.streamBytesPerNodeSec));
    console.log(`| ${n} | ${trials} | ${fmt(median(first))}, ${fmt(Math.max(...first))} | ${fmt(median(all))}, ${fmt(Math.max(...all))} | ${msgs.toFixed(2)} | ${bytes.toFixed(0)} | ${tcp.toFixed(0)} | ${(bytes + tcp).toFixed(0)} | ${((Date.now() - started) / 1000).toFixed(0)} |`);
  }
}

async function falsePositiveTable(stall: Stall | null): Promise<void> {
  const n = quick ? 16 : 32;
  const minutes = quick ? 5 : 30;
  const stalls = stall === null ? 'no member stalls' : `${stall.members} members take no packets in for ${stall.stallMs / 1000} s of every ${stall.periodMs / 1000} s`;
  console.log(`\n${n} nodes, ${minutes} virtual minutes per row (${(n * minutes) / 60} node-hours), every datagram lost with the given probability (TCP streams are not), ${stalls}.\n`);
  console.log('| loss | protocol | healthy nodes declared dead | false positives per node-hour | stalled nodes declared dead | wall s |');
  console.log('|---|---|---|---|---|---|');
  const modes: [string, object][] = [
    ['Lifeguard, TCP ping off', { lifeguard: true, disableTcpPings: true }],
    ['SWIM (Lifeguard off), TCP ping off', { lifeguard: false, disableTcpPings: true }],
    ['Lifeguard + TCP ping (memberlist default)', { lifeguard: true }],
  ];
  for (const loss of [0.01, 0.05, 0.1]) {
    for (const [label, config] of modes) {
      const started = Date.now();
      const r = await falsePositives(n, loss, minutes, 42, config, stall);
      const stalledCell = stall === null ? '–' : String(r.stalledEpisodes);
      console.log(`| ${loss * 100}% | ${label} | ${r.episodes} | ${(r.episodes / r.nodeHours).toFixed(3)} | ${stalledCell} | ${((Date.now() - started) / 1000).toFixed(0)} |`);
    }
  }
}

const which = process.argv.find((a) => a === 'detection' || a === 'fp');
if (which !== 'fp') await detectionTable();
if (which !== 'detection') {
  await falsePositiveTable(null);
  await falsePositiveTable({ members: 2, periodMs: 20_000, stallMs: 10_000 });
}
