// Real processes in their own network namespaces, joined by a bridge: a partition that outlives
// GossipToTheDeadTime heals and converges. Needs root and iproute2; skips otherwise. (Packet
// loss with tc netem is not tested here: this kernel has no netem qdisc; the simulator covers loss.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { Cleanup } from './support/cleanup.js';
import { MAIN } from './support/outrigger.js';
import { waitFor } from './support/wait.js';

const cleanup = new Cleanup();
const tag = process.pid % 10_000;
const subnet = `10.213.${process.pid % 250}`;
const BRIDGE = `ogbr${tag}`;
const ns = (i: number): string => `og${tag}-${i}`;
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  try {
    ip('netns', 'add', ns(0));
    ip('netns', 'del', ns(0));
    return null;
  } catch (err) {
    return `ip netns is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
}

function setUp(n: number): void {
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  cleanup.add(async () => { try { ip('link', 'del', BRIDGE); } catch { /* gone */ } });
  ip('addr', 'add', `${subnet}.254/24`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  for (let i = 1; i <= n; i++) {
    ip('netns', 'add', ns(i));
    cleanup.add(async () => { try { ip('netns', 'del', ns(i)); } catch { /* gone */ } });
    ip('link', 'add', `ogv${tag}-${i}`, 'type', 'veth', 'peer', 'name', `ogb${tag}-${i}`);
    ip('link', 'set', `ogv${tag}-${i}`, 'netns', ns(i));
    ip('netns', 'exec', ns(i), 'ip', 'addr', 'add', `${subnet}.${i}/24`, 'dev', `ogv${tag}-${i}`);
    ip('netns', 'exec', ns(i), 'ip', 'link', 'set', `ogv${tag}-${i}`, 'up');
    ip('netns', 'exec', ns(i), 'ip', 'link', 'set', 'lo', 'up');
    ip('link', 'set', `ogb${tag}-${i}`, 'master', BRIDGE);
    ip('link', 'set', `ogb${tag}-${i}`, 'up');
  }
}

interface Node { base: string; out: string }

async function startIn(i: number, extra: string[]): Promise<Node> {
  const p = spawn('ip', ['netns', 'exec', ns(i), process.execPath, MAIN, '--address', `${subnet}.${i}:0`,
    '--gossip-bind', `${subnet}.${i}:0`, '--api-address', 'off', '--node-name', `ns${i}`, '--log', ...extra, 'http://127.0.0.1:9'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const node: Node = { base: '', out: '' };
  p.stdout.setEncoding('utf8').on('data', (s: string) => { node.out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { node.out += s; });
  const exited = new Promise((r) => p.once('exit', r));
  cleanup.add(async () => { if (p.exitCode === null) p.kill('SIGKILL'); await exited; });
  await waitFor(() => /listening on http:\/\/\S+:(\d+)/.test(node.out), 15_000, `ns${i} to listen`);
  node.base = `http://${subnet}.${i}:${/listening on http:\/\/\S+:(\d+)/.exec(node.out)![1]}`;
  return node;
}

async function view(n: Node): Promise<Map<string, { state: string; port: number }>> {
  const doc = (await (await fetch(`${n.base}/v1/members`)).json()) as { members: { name: string; state: string; port: number }[] };
  return new Map(doc.members.map((m) => [m.name, m]));
}

const reason = unavailable();

test('a partition longer than GossipToTheDeadTime heals: every member alive everywhere again', { skip: reason ?? false, timeout: 180_000 }, async (t) => {
  setUp(3);
  const seed = await startIn(1, []);
  const seedPort = (await view(seed)).get('ns1')!.port;
  const nodes = [seed, await startIn(2, ['--join', `${subnet}.1:${seedPort}`]), await startIn(3, ['--join', `${subnet}.1:${seedPort}`])];
  const allAlive = async (): Promise<boolean> => (await Promise.all(nodes.map(view))).every((v) => [...v.values()].filter((m) => m.state === 'alive').length === 3);
  await waitFor(allAlive, 15_000, '3 alive everywhere');

  ip('link', 'set', `ogb${tag}-3`, 'down');
  const cutAt = Date.now();
  // Inside ns3 the HTTP API is unreachable now; the other side's view tells the story.
  await waitFor(async () => (await view(seed)).get('ns3')?.state === 'dead', 40_000, 'ns3 dead at ns1');
  // Outlive GossipToTheDeadTime (30 s), after which memberlist alone would never talk to ns3 again.
  await new Promise((r) => setTimeout(r, Math.max(0, 32_000 - (Date.now() - cutAt))));
  ip('link', 'set', `ogb${tag}-3`, 'up');
  const healedAt = Date.now();
  await waitFor(allAlive, 60_000, 'all alive after the partition healed');
  t.diagnostic(`partition of ${((healedAt - cutAt) / 1000).toFixed(0)} s healed; converged ${Date.now() - healedAt} ms after`);
  assert.match(nodes[2]!.out, /gossip: member ns1 failed/);
});
