// Outrigger's gossip member and real Go memberlist 0.2.2 nodes in one cluster, on loopback.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GossipAgent, type GossipSettings } from '../../src/gossip/agent.js';
import type { Delegate } from '../../src/gossip/protocol/types.js';
import { Cleanup } from '../support/cleanup.js';
import { waitFor } from '../support/wait.js';
import { startOutrigger } from '../support/outrigger.js';
import { GoPeer, goPeerBinary, skipReason } from './go-peer.js';

const cleanup = new Cleanup();
const KEY_HEX = '000102030405060708090a0b0c0d0e0f';
const OTHER_KEY_HEX = '0f0e0d0c0b0a09080706050403020100';

class Recorder implements Delegate {
  readonly msgs: string[] = [];
  readonly merged: { join: boolean; data: string }[] = [];
  readonly outbox: Uint8Array[] = [];
  constructor(private readonly name: string) {}
  nodeMeta(): Uint8Array { return Buffer.from(`meta-${this.name}`); }
  notifyMsg(buf: Uint8Array): void { this.msgs.push(Buffer.from(buf).toString()); }
  getBroadcasts(): Uint8Array[] { return this.outbox.splice(0); }
  localState(): Uint8Array { return Buffer.from(`state-${this.name}`); }
  mergeRemoteState(buf: Uint8Array, join: boolean): void { this.merged.push({ join, data: Buffer.from(buf).toString() }); }
}

async function tsNode(name: string, extra: Partial<GossipSettings> = {}): Promise<{ agent: GossipAgent; d: Recorder }> {
  const d = new Recorder(name);
  const agent = await GossipAgent.start({
    bind: { host: '127.0.0.1', port: 0 }, advertise: undefined, seeds: [], nodeName: name, clusterName: '', keys: [], profile: 'lan', ...extra,
  }, () => {}, d);
  cleanup.add(() => agent.stop(0));
  return { agent, d };
}

const stateIn = (agent: GossipAgent, name: string): string | undefined => agent.members().find((m) => m.name === name)?.state;

let bin: string | null = null;
const reason = skipReason();

describe('interop with Go memberlist 0.2.2', { skip: reason ?? false, timeout: 180_000 }, () => {
  before(async () => {
    bin = await goPeerBinary();
  });

  const peer = async (args: string[]): Promise<GoPeer> => {
    const p = await GoPeer.start(bin!, args);
    cleanup.track(p);
    return p;
  };

  it('each side sees the other alive with its meta, merges push/pull state and receives user messages', async (t) => {
    if (bin === null) return t.skip('go is not installed (apt-get install golang-go)');
    const { agent, d } = await tsNode('ts-a');
    const go = await peer(['-name', 'go-a', '-meta', 'meta-go', '-state', 'state-go', '-join', `127.0.0.1:${agent.port}`]);
    await waitFor(() => stateIn(agent, 'go-a') === 'alive', 30_000, 'go-a alive at ts-a');
    assert.deepEqual(await go.members(), ['go-a', 'ts-a']);
    assert.equal(Buffer.from(agent.members().find((m) => m.name === 'go-a')!.meta).toString(), 'meta-go');
    const join = await go.waitEvent((e) => e.event === 'join' && e.node === 'ts-a', 20_000, 'Go join event for ts-a');
    assert.equal(join.meta, 'meta-ts-a');
    // Push/pull user state, both ways, on the join.
    assert.ok(d.merged.some((m) => m.join && m.data === 'state-go'), 'TS merged the Go state');
    await go.waitEvent((e) => e.event === 'merge' && e.data === 'state-ts-a' && e.join === true, 20_000, 'Go merged the TS state');
    // User messages: Go → TS over UDP and TCP, and as a gossip broadcast.
    go.command('send ts-a udp-from-go');
    go.command('sendrel ts-a tcp-from-go');
    go.command('broadcast bcast-from-go');
    await waitFor(() => ['udp-from-go', 'tcp-from-go', 'bcast-from-go'].every((m) => d.msgs.includes(m)), 10_000, 'Go user messages at TS');
    // TS → Go: best effort, reliable and piggybacked broadcast.
    const goMember = agent.members().find((m) => m.name === 'go-a')!;
    agent.memberlist.sendBestEffort(goMember, Buffer.from('udp-from-ts'));
    await agent.memberlist.sendReliable(goMember, Buffer.from('tcp-from-ts'));
    d.outbox.push(Buffer.from('bcast-from-ts'));
    for (const m of ['udp-from-ts', 'tcp-from-ts', 'bcast-from-ts']) await go.waitEvent((e) => e.event === 'msg' && e.data === m, 10_000, `${m} at Go`);
  });

  it('each side detects the other\'s death, and sees a graceful leave as left', async (t) => {
    if (bin === null) return t.skip('go is not installed');
    const { agent } = await tsNode('ts-b');
    const { agent: other } = await tsNode('ts-c', { seeds: [{ host: '127.0.0.1', port: agent.port }] });
    const go = await peer(['-name', 'go-b', '-join', `127.0.0.1:${agent.port}`]);
    const go2 = await peer(['-name', 'go-c', '-join', `127.0.0.1:${agent.port}`]);
    await waitFor(() => ['ts-c', 'go-b', 'go-c'].every((n) => stateIn(agent, n) === 'alive'), 30_000, 'all alive at ts-b');
    await waitFor(async () => (await go.members()).length === 4, 30_000, '4 members at go-b');
    // Go dies: both TS members mark it dead.
    const killedAt = Date.now();
    await go2.stop();
    await waitFor(() => stateIn(agent, 'go-c') === 'dead' && stateIn(other, 'go-c') === 'dead', 30_000, 'go-c dead at TS');
    t.diagnostic(`Go member killed → dead at both TS members after ${Date.now() - killedAt} ms`);
    // A TS member dies (no leave): Go marks it dead.
    // (memberlist 0.2.2 events do not carry the state: nodeState.State shadows Node.State.)
    const crashedAt = Date.now();
    other.crash();
    await go.waitEvent((e) => e.event === 'leave' && e.node === 'ts-c', 30_000, 'go-b to see ts-c fail');
    t.diagnostic(`TS member crashed → Go NotifyLeave after ${Date.now() - crashedAt} ms`);
    // Graceful leaves, both ways.
    go.command('leave');
    await waitFor(() => stateIn(agent, 'go-b') === 'left', 20_000, 'go-b left at ts-b');
    const { agent: third } = await tsNode('ts-d', { seeds: [{ host: '127.0.0.1', port: agent.port }] });
    const go3 = await peer(['-name', 'go-d', '-join', `127.0.0.1:${agent.port}`]);
    await go3.waitEvent((e) => e.event === 'join' && e.node === 'ts-d', 10_000, 'go-d to see ts-d');
    // A leave is seen at once; a failure could not be declared before the 4 s minimum suspicion.
    const leftAt = Date.now();
    await third.stop(3000);
    await go3.waitEvent((e) => e.event === 'leave' && e.node === 'ts-d', 3000, 'go-d to see ts-d leave');
    t.diagnostic(`TS leave → Go NotifyLeave after ${Date.now() - leftAt} ms`);
  });

  it('with encryption: joins, user messages and state pass; a wrong key is refused', async (t) => {
    if (bin === null) return t.skip('go is not installed');
    const { agent, d } = await tsNode('ts-e', { keys: [Buffer.from(KEY_HEX, 'hex')] });
    const go = await peer(['-name', 'go-e', '-key', KEY_HEX, '-state', 'secret-state', '-join', `127.0.0.1:${agent.port}`]);
    await waitFor(() => stateIn(agent, 'go-e') === 'alive', 30_000, 'go-e alive at ts-e');
    assert.ok(d.merged.some((m) => m.data === 'secret-state'));
    go.command('send ts-e enc-udp');
    go.command('sendrel ts-e enc-tcp');
    await waitFor(() => d.msgs.includes('enc-udp') && d.msgs.includes('enc-tcp'), 10_000, 'encrypted user messages');
    // Wrong key: the Go join fails and neither side lists the other.
    const wrong = await peer(['-name', 'go-wrong', '-key', OTHER_KEY_HEX, '-join', `127.0.0.1:${agent.port}`]);
    const err = await wrong.waitEvent((e) => e.event === 'error' || e.event === 'joined', 15_000, 'the wrong-key join to finish');
    assert.equal(err.event, 'error');
    // And a plaintext node cannot join an encrypted one.
    const plain = await peer(['-name', 'go-plain', '-join', `127.0.0.1:${agent.port}`]);
    assert.equal((await plain.waitEvent((e) => e.event === 'error' || e.event === 'joined', 15_000, 'plaintext join')).event, 'error');
    assert.equal(stateIn(agent, 'go-wrong'), undefined);
    assert.equal(stateIn(agent, 'go-plain'), undefined);
    // TS with the wrong key joining Go fails too.
    const { agent: bad } = await tsNode('ts-wrong', { keys: [Buffer.from(OTHER_KEY_HEX, 'hex')] });
    assert.equal(await bad.memberlist.join([{ addr: '127.0.0.1', port: go.port }]), 0);
  });

  it('key rotation: a TS member holding [new, old] reaches a Go member with only the old key once it uses the old one', async (t) => {
    if (bin === null) return t.skip('go is not installed');
    const { agent, d } = await tsNode('ts-r', { keys: [Buffer.from(OTHER_KEY_HEX, 'hex'), Buffer.from(KEY_HEX, 'hex')] });
    const go = await peer(['-name', 'go-r', '-key', KEY_HEX]);
    const wrongWay = await agent.memberlist.join([{ addr: '127.0.0.1', port: go.port }]);
    assert.equal(wrongWay, 0, 'Go cannot read the new primary key yet');
    agent.memberlist.wire.keyring!.use(Buffer.from(KEY_HEX, 'hex'));
    assert.equal(await agent.memberlist.join([{ addr: '127.0.0.1', port: go.port }]), 1, 'after use(old) the join works');
    // Go answers a push/pull before merging it: wait until it lists ts-r.
    await go.waitEvent((e) => e.event === 'join' && e.node === 'ts-r', 10_000, 'Go to list ts-r');
    go.command('sendrel ts-r rotated');
    await waitFor(() => d.msgs.includes('rotated'), 10_000, 'message after rotation');
  });

  it('an Outrigger process lists Go members in GET /v1/members and marks a killed one dead', async (t) => {
    if (bin === null) return t.skip('go is not installed');
    const go = await peer(['-name', 'go-p']);
    const o = await startOutrigger(['--gossip-bind', '127.0.0.1:0', '--api-address', 'off', '--node-name', 'ts-p', '--join', `127.0.0.1:${go.port}`, 'http://127.0.0.1:9']);
    cleanup.track(o);
    const state = async (name: string): Promise<string | undefined> =>
      ((await (await fetch(`${o.base}/v1/members`)).json()) as { members: { name: string; state: string }[] }).members.find((m) => m.name === name)?.state;
    await waitFor(async () => (await state('go-p')) === 'alive', 30_000, 'go-p alive in /v1/members');
    await go.waitEvent((e) => e.event === 'join' && e.node === 'ts-p', 20_000, 'Go to see ts-p');
    await go.stop();
    await waitFor(async () => (await state('go-p')) === 'dead', 30_000, 'go-p dead in /v1/members');
  });

  it('a TS member with a cluster name refuses Go 0.2.2 nodes (which send no label) and they refuse it', async (t) => {
    if (bin === null) return t.skip('go is not installed');
    const { agent } = await tsNode('ts-l', { clusterName: 'prod' });
    const go = await peer(['-name', 'go-l', '-join', `127.0.0.1:${agent.port}`]);
    assert.equal((await go.waitEvent((e) => e.event === 'error' || e.event === 'joined', 15_000, 'the join to finish')).event, 'error');
    assert.equal(await agent.memberlist.join([{ addr: '127.0.0.1', port: go.port }]), 0);
    assert.equal(stateIn(agent, 'go-l'), undefined);
    assert.deepEqual(await go.members(), ['go-l']);
  });
});
