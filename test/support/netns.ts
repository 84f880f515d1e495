/**
 * Real Outrigger processes in their own network namespaces, joined by a bridge, for the gossip
 * tests that need a real network between them: cutting one off (test/netns-partition.test.ts) and
 * dropping a share of packets (test/netns-loss.test.ts). Needs root and iproute2.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { Cleanup } from './cleanup.js';
import { MAIN } from './outrigger.js';
import { waitFor } from './wait.js';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** One process in namespace i, reachable from the test at `base` over the bridge. */
export interface NsNode {
  readonly name: string;
  readonly addr: string;
  readonly proc: ChildProcess;
  base: string;
  out: string;
  exited: Promise<unknown>;
}

export interface MemberView { readonly name: string; readonly state: string; readonly port: number; readonly incarnation: number }

/** Why these tests cannot run here, or null when they can. */
export function netnsUnavailable(probe: string): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return null;
  } catch (err) {
    return `ip netns is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
}

export class NetnsLab {
  private readonly tag = process.pid % 10_000;
  /** The test process itself is .254 on the bridge; member i is .i. */
  readonly subnet: string;
  private readonly bridge = `ogbr${this.tag}`;

  /** `octet`: the second of the subnet 10.octet.x.0/24, one per test file (they run side by side). */
  constructor(private readonly cleanup: Cleanup, octet: number) {
    this.subnet = `10.${octet}.${process.pid % 250}`;
  }

  ns(i: number): string { return `og${this.tag}-${i}`; }
  /** The veth end inside namespace i. */
  inner(i: number): string { return `ogv${this.tag}-${i}`; }
  /** The veth end on the bridge. */
  outer(i: number): string { return `ogb${this.tag}-${i}`; }
  addr(i: number): string { return `${this.subnet}.${i}`; }
  get observer(): string { return `${this.subnet}.254`; }

  /** A bridge with the test on it and n namespaces (1..n), each on its own veth pair. */
  setUp(n: number): void {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    this.cleanup.add(async () => { try { ip('link', 'del', this.bridge); } catch { /* gone */ } });
    ip('addr', 'add', `${this.observer}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    for (let i = 1; i <= n; i++) {
      ip('netns', 'add', this.ns(i));
      this.cleanup.add(async () => { try { ip('netns', 'del', this.ns(i)); } catch { /* gone */ } });
      ip('link', 'add', this.inner(i), 'type', 'veth', 'peer', 'name', this.outer(i));
      ip('link', 'set', this.inner(i), 'netns', this.ns(i));
      this.inNs(i, 'ip', 'addr', 'add', `${this.addr(i)}/24`, 'dev', this.inner(i));
      this.inNs(i, 'ip', 'link', 'set', this.inner(i), 'up');
      this.inNs(i, 'ip', 'link', 'set', 'lo', 'up');
      ip('link', 'set', this.outer(i), 'master', this.bridge);
      ip('link', 'set', this.outer(i), 'up');
    }
  }

  inNs(i: number, ...cmd: string[]): string { return ip('netns', 'exec', this.ns(i), ...cmd); }

  /** Take namespace i off the bridge, or put it back. */
  cut(i: number): void { ip('link', 'set', this.outer(i), 'down'); }
  heal(i: number): void { ip('link', 'set', this.outer(i), 'up'); }

  /**
   * Drop a random `share` of the IPv4 packets leaving namespace i for the other members, UDP and
   * TCP alike (traffic to the test's own address is spared). Every packet between two members
   * leaves exactly one namespace, so each path loses `share`. A stand-in for `tc netem loss`,
   * which this kernel lacks: a classic-BPF tc filter on the clsact qdisc, no extra module.
   */
  lose(i: number, share: number): void {
    this.inNs(i, 'tc', 'qdisc', 'add', 'dev', this.inner(i), 'clsact');
    this.inNs(i, 'tc', 'filter', 'add', 'dev', this.inner(i), 'egress', 'bpf', 'da', 'bytecode', lossBytecode(share, this.observer));
  }

  /** Packets that met namespace i's loss filter, and how many of them it dropped. */
  lossCounts(i: number): { packets: number; drops: number } {
    const qdiscs = JSON.parse(this.inNs(i, 'tc', '-s', '-j', 'qdisc', 'show', 'dev', this.inner(i))) as { kind: string; packets: number; drops: number }[];
    const clsact = qdiscs.find((q) => q.kind === 'clsact');
    if (clsact === undefined) throw new Error(`no loss filter in ${this.ns(i)}`);
    return { packets: clsact.packets, drops: clsact.drops };
  }

  /** An `outrigger --gossip-bind` in namespace i, node name ns<i>, serving /v1/members on its address. */
  async start(i: number, extra: readonly string[]): Promise<NsNode> {
    const proc = spawn('ip', ['netns', 'exec', this.ns(i), process.execPath, MAIN, '--address', `${this.addr(i)}:0`,
      '--gossip-bind', `${this.addr(i)}:0`, '--api-address', 'off', '--node-name', `ns${i}`, '--log', ...extra, 'http://127.0.0.1:9'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    const node: NsNode = { name: `ns${i}`, addr: this.addr(i), proc, base: '', out: '', exited: new Promise((r) => proc.once('exit', r)) };
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => { node.out += s; });
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => { node.out += s; });
    // `ip netns exec` execs the command: this PID is the Outrigger process itself.
    this.cleanup.add(async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await node.exited; });
    await waitFor(() => /listening on http:\/\/\S+:(\d+)/.test(node.out) || proc.exitCode !== null, 15_000, `ns${i} to listen`);
    const m = /listening on http:\/\/\S+:(\d+)/.exec(node.out);
    if (m === null) throw new Error(`ns${i} did not start:\n${node.out}`);
    node.base = `http://${this.addr(i)}:${m[1]}`;
    // Listening inside the namespace is not yet reachable from the bridge on a loaded machine (a
    // first fetch failed once with "fetch failed"): the node is started once the test reaches it.
    const reached = (): Promise<boolean> => fetch(`${node.base}/v1/members`).then((r) => r.ok, () => false);
    await waitFor(reached, 15_000, `ns${i} to answer over the bridge`, 50);
    return node;
  }
}

/**
 * Classic BPF for a tc filter in direct-action mode: drop (TC_ACT_SHOT) a random `share` of the
 * IPv4 packets not addressed to `spare`, pass the rest (TC_ACT_OK) and anything else (ARP). The
 * random number is the kernel's (the ancillary load SKF_AD_RANDOM), so runs are not repeatable.
 */
export function lossBytecode(share: number, spare: string): string {
  const SKF_AD_RANDOM = 2 ** 32 - 0x1000 + 56;
  const spareIp = spare.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const program = [
    [0x28, 0, 0, 12], //                 ldh [12]        EtherType
    [0x15, 0, 5, 0x0800], //             jeq IPv4, else pass
    [0x20, 0, 0, 30], //                 ld [30]         IPv4 destination
    [0x15, 3, 0, spareIp], //            jeq spare, pass
    [0x20, 0, 0, SKF_AD_RANDOM], //      ld rand         uniform 32 bits
    [0x35, 1, 0, Math.round(share * 2 ** 32)], // jge share × 2³², pass
    [0x06, 0, 0, 2], //                  ret TC_ACT_SHOT
    [0x06, 0, 0, 0], //                  ret TC_ACT_OK
  ];
  return `${program.length},${program.map((op) => op.join(' ')).join(',')}`;
}

/** Why the loss filter cannot work here (no clsact or cls_bpf), or null when it can. */
export function lossUnavailable(probe: string): string | null {
  const noNetns = netnsUnavailable(probe);
  if (noNetns !== null) return noNetns;
  ip('netns', 'add', probe);
  try {
    const inProbe = (...cmd: string[]): string => ip('netns', 'exec', probe, ...cmd);
    inProbe('ip', 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1');
    inProbe('tc', 'qdisc', 'add', 'dev', 'probe0', 'clsact');
    inProbe('tc', 'filter', 'add', 'dev', 'probe0', 'egress', 'bpf', 'da', 'bytecode', lossBytecode(0.05, '10.0.0.1'));
    return null;
  } catch (err) {
    return `tc clsact with a classic-BPF filter is not usable here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    ip('netns', 'del', probe);
  }
}

export async function view(n: NsNode): Promise<Map<string, MemberView>> {
  const doc = (await (await fetch(`${n.base}/v1/members`)).json()) as { members: MemberView[] };
  return new Map(doc.members.map((m) => [m.name, m]));
}

/** Every node lists `count` members, all alive. */
export const allAlive = (nodes: readonly NsNode[], count: number) => async (): Promise<boolean> =>
  (await Promise.all(nodes.map(view))).every((v) => [...v.values()].filter((m) => m.state === 'alive').length === count);
