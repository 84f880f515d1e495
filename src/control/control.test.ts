import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../config/parse.js';
import { configOf } from '../config/harness.js';
import type { SiteSpec } from '../config/types.js';
import { DEFAULT_BACKEND_TLS } from '../tls/backend-tls.js';
import { HealthState } from '../upstream/health-state.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { assignFlags, decodePrimaryMessage, decodeWorkerMessage, flagsOf, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { SnapshotPublisher } from './publisher.js';
import { SnapshotFollower } from './follower.js';

const config = configOf(parseCommandLine(['--health-path', '/health', 'http://a:9000'], {}));

function sites(...hosts: string[][]): SiteSpec[] {
  return hosts.map((hs, index) => ({
    index, source: hs.join(','),
    backends: hs.map((h) => ({ url: `http://${h}:9000`, protocol: 'http:' as const, hostname: h, port: 9000, basePath: '' })),
  }));
}

/** A primary's set with an injected clock, its publisher, and one follower wired to it through JSON (as the cluster channel carries it). */
function pair(initial: SiteSpec[]): {
  primary: UpstreamSet; publisher: SnapshotPublisher; follower: SnapshotFollower; sent: PrimaryMessage[]; evidence: WorkerMessage[]; clock: { now: number };
} {
  const clock = { now: 1_000_000 };
  const primary = new UpstreamSet(initial, { ...config, now: () => clock.now });
  const publisher = new SnapshotPublisher(primary, null);
  const sent: PrimaryMessage[] = [];
  const evidence: WorkerMessage[] = [];
  const follower = new SnapshotFollower(config, DEFAULT_BACKEND_TLS, (m) => {
    const wire = JSON.parse(JSON.stringify(m)) as WorkerMessage;
    evidence.push(wire);
    const decoded = decodeWorkerMessage(wire);
    assert.ok(decoded.ok);
    if (decoded.message.type === 'hello') {
      publisher.subscribe((p) => { sent.push(p); follower.receive(JSON.parse(JSON.stringify(p))); });
      follower.receive(JSON.parse(JSON.stringify(publisher.snapshot())));
    } else if (decoded.message.type === 'evidence') publisher.decide(decoded.message.evidence);
  });
  follower.hello();
  return { primary, publisher, follower, sent, evidence, clock };
}

const online = (set: UpstreamSet): string[] => set.backends().filter((b) => b.online).map((b) => b.url);

test('health flags survive the trip: every flag, the times and the last error', () => {
  const h = new HealthState(5);
  h.recordProbe(true, '', 1, 1, 10);
  h.recordRequestFailure('ECONNRESET', 20, { failures: 1, windowMs: 1000 });
  h.eject(500, 'outlier: 5 x 5xx', 30);
  const copy = new HealthState(0);
  assignFlags(copy, JSON.parse(JSON.stringify(flagsOf(h))));
  for (const k of ['online', 'probed', 'activeUp', 'passiveOut', 'ejectedUntil', 'since', 'lastDowntimeMs', 'lastError'] as const) assert.equal(copy[k], h[k], k);
  assert.equal(copy.merelySuspected(), h.merelySuspected());
});

test('the codec refuses another version, an unknown type and a malformed message, naming why', () => {
  assert.match(String((decodePrimaryMessage({ v: 2, type: 'health' }) as { error: string }).error), /protocol version 2, expected 1/);
  assert.match(String((decodePrimaryMessage({ v: 1, type: 'reboot' }) as { error: string }).error), /unknown message type "reboot"/);
  assert.match(String((decodePrimaryMessage({ v: 1, type: 'health', seq: 1, endpoint: 'x', flags: [1, 2] }) as { error: string }).error), /malformed health/);
  assert.match(String((decodePrimaryMessage({ v: 1, type: 'sites', seq: 1, sites: [{ index: 0, source: '', backends: [{ url: 1 }] }], health: [] }) as { error: string }).error), /malformed sites/);
  assert.equal(decodePrimaryMessage(null).ok, false);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'evidence', evidence: { kind: 'eject', endpoint: 'e', reason: 'r' } }).ok, false, 'an ejection needs its end');
  assert.equal(decodeWorkerMessage({ v: 1, type: 'evidence', evidence: { kind: 'request-failed', endpoint: 'e', reason: 'r' } }).ok, true);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'constructor' }).ok, false, 'only own keys are message types');
  assert.equal(decodeWorkerMessage({ v: 1, type: 'metrics-ask', id: 1, what: 'backends' }).ok, true);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'metrics-ask', id: 1, what: 'secrets' }).ok, false);
  const notice = { phase: 'begin', dir: 'hh/host/abc/', url: 'http://host/x', ok: false };
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-removal', notice }).ok, true);
  assert.equal(decodePrimaryMessage({ v: 1, type: 'cache-removal', notice: { ...notice, phase: 'end', ok: true } }).ok, true);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-removal', notice: { ...notice, phase: 'later' } }).ok, false, 'a cache removal is begin, end or peer');
  assert.equal(decodePrimaryMessage({ v: 1, type: 'cache-removal', notice: { ...notice, phase: 'peer', ok: true } }).ok, true, "another sidecar's removal");
  assert.equal(decodePrimaryMessage({ v: 1, type: 'cache-removal', notice: { ...notice, dir: 7 } }).ok, false);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-removal', notice: { ...notice, local: true } }).ok, true, 'a removal not told to other sidecars');
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-removal', notice: { ...notice, local: 'yes' } }).ok, false);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-fills', keys: [1, 0xffffffff] }).ok, true);
  assert.equal(decodePrimaryMessage({ v: 1, type: 'cache-fills', keys: [] }).ok, true);
  assert.equal(decodePrimaryMessage({ v: 1, type: 'cache-fills', keys: [1] }).ok, false, 'fill keys come in pairs');
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-fills', keys: [1, -1] }).ok, false, 'of 32-bit words');
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-fills', keys: [1, 2 ** 32] }).ok, false);
  assert.equal(decodeWorkerMessage({ v: 1, type: 'cache-fills', keys: '1,2' }).ok, false);
});

test('a follower holds what the primary decided: the snapshot on hello, then each verdict and membership change', () => {
  const { primary, follower, sent } = pair(sites(['a1', 'a2'], ['b1']));
  assert.deepEqual(follower.upstreams.backends().map((b) => b.url), primary.backends().map((b) => b.url));
  assert.deepEqual(online(follower.upstreams), []);
  for (const b of primary.backends()) primary.probeResult(b, true, '', 1, 1);
  assert.deepEqual(online(follower.upstreams), online(primary));
  assert.equal(follower.upstreams.pick(null)?.siteIndex, 0);
  const [a1, a2] = primary.backends();
  primary.probeResult(a1!, false, 'status 503', 1, 1);
  primary.probeResult(a2!, false, 'status 503', 1, 1);
  assert.equal(follower.upstreams.pick(null)?.url, 'http://b1:9000', 'failover follows the primary');
  const before = sent.length;
  primary.probeResult(a2!, false, 'status 503', 1, 1);
  assert.equal(sent.length, before, 'a verdict that changes no flag sends nothing');
  primary.replace(sites(['a1', 'a2', 'a3'], ['b1']));
  assert.deepEqual(follower.upstreams.backends().map((b) => b.url), ['http://a1:9000', 'http://a2:9000', 'http://a3:9000', 'http://b1:9000']);
  assert.equal(follower.upstreams.backends()[2]!.probed, false);
  assert.equal(follower.upstreams.sites[0]!.backends[0]!.lastError, 'status 503');
});

test('a gap in the numbering makes the follower ask for the whole snapshot again', () => {
  const { primary, follower, evidence } = pair(sites(['a1']));
  const [a1] = primary.backends();
  const hellos = (): number => evidence.filter((m) => m.type === 'hello').length;
  assert.equal(hellos(), 1);
  follower.receive({ v: 1, type: 'health', seq: 999, endpoint: a1!.endpoint, flags: [1, 0, 0, 0, ''] });
  assert.equal(hellos(), 2);
  assert.equal(follower.upstreams.backends()[0]!.online, false, 'the out-of-order message was not applied');
});

test('the primary decides on worker evidence: 3 request failures within 10 s take a backend out for every worker, 2 do not', () => {
  const { primary, follower, clock } = pair(sites(['a1', 'a2']));
  for (const b of primary.backends()) primary.probeResult(b, true, '', 1, 1);
  const w1 = follower.upstreams.backends()[0]!;
  follower.upstreams.requestFailed(w1, 'ECONNRESET');
  clock.now += 4_000;
  follower.upstreams.requestFailed(w1, 'ECONNRESET');
  assert.equal(primary.backends()[0]!.online, true, 'two failures are not enough');
  assert.equal(w1.online, true, 'the worker does not decide by itself');
  clock.now += 11_000;
  follower.upstreams.requestFailed(w1, 'ECONNRESET');
  follower.upstreams.requestFailed(w1, 'ECONNRESET');
  assert.equal(primary.backends()[0]!.online, true, 'the window started again');
  follower.upstreams.requestFailed(w1, 'ECONNRESET');
  assert.equal(primary.backends()[0]!.online, false);
  assert.equal(w1.online, false, 'the verdict came back');
  assert.equal(w1.health.merelySuspected(), true, 'still tried when nothing else is left (panic routing)');
  primary.probeResult(primary.backends()[0]!, true, '', 1, 1);
  assert.equal(w1.online, true, 'a passing probe clears the evidence');
});

test('an ejection asked for by a worker applies to every worker; evidence on an endpoint that left is dropped', () => {
  const { primary, follower, clock } = pair(sites(['a1', 'a2']));
  for (const b of primary.backends()) primary.probeResult(b, true, '', 1, 1);
  const w2 = follower.upstreams.backends()[1]!;
  follower.upstreams.eject(w2, clock.now + 30_000, 'outlier: 5 consecutive 5xx');
  assert.equal(primary.backends()[1]!.online, false);
  assert.equal(w2.online, false);
  assert.equal(w2.health.ejectedUntil, clock.now + 30_000);
  const gone = follower.upstreams.backends()[0]!;
  primary.replace(sites(['a2']));
  follower.upstreams.requestFailed(gone, 'ECONNRESET');
  assert.deepEqual(primary.backends().map((b) => b.url), ['http://a2:9000']);
  follower.upstreams.eject(w2, 0, 'outlier: ejection over');
  primary.probeResult(primary.backends()[0]!, true, '', 1, 1);
  assert.equal(follower.upstreams.backends()[0]!.online, true);
});
