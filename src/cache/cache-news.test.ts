import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DelegateMux } from '../gossip/delegate-mux.js';
import type { Delegate } from '../gossip/protocol/types.js';
import type { HashPair } from './bloom.js';
import { CacheNews, decodeNews, encodeFills, encodeRemovals, MAX_FILLS_WAITING, peerNotice, storeIdOf, type RemovalNews } from './cache-news.js';
import { entryKeys } from './key.js';
import { Outbox } from './news-outbox.js';
import { StoreIndex } from './store-index.js';
import type { RemovalNotice } from './removals.js';

const STORE = storeIdOf('bucket', 'p/');
const DIRS = 'p/hh/';
const key = (i: number): HashPair => ({ h1: i, h2: (i * 2 + 1) >>> 0 });
const dirOf = (path: string): string => entryKeys('p/', 'http', 'a.example', path).dir;

/** A CacheNews whose learned news is collected, each item sent `transmits` times. */
function news(transmits = 3, storeId = STORE): { news: CacheNews; fills: HashPair[]; removals: RemovalNews[] } {
  const fills: HashPair[] = [];
  const removals: RemovalNews[] = [];
  const n = new CacheNews({
    storeId, dirPrefix: DIRS, transmits: () => transmits, random: () => 0.5,
    learnFills: (keys) => fills.push(...keys), learnRemoval: (removal) => removals.push(removal),
  });
  return { news: n, fills, removals };
}

const fillsIn = (msg: Uint8Array | undefined): HashPair[] | undefined => {
  const decoded = msg === undefined ? null : decodeNews(STORE, DIRS, msg);
  return decoded?.kind === 'fills' ? decoded.keys : undefined;
};

describe('cache news over gossip (cache-news.ts)', () => {
  it('decodes what it encodes, for its own store only', () => {
    const keys = [key(1), { h1: 0xffffffff, h2: 0x80000001 }];
    const msg = encodeFills(STORE, keys);
    assert.equal(msg[0], 0xc1);
    assert.deepEqual(decodeNews(STORE, DIRS, msg), { kind: 'fills', keys });
    assert.equal(decodeNews(storeIdOf('bucket', 'other/'), DIRS, msg), null, 'another prefix is another store');
    assert.equal(decodeNews(storeIdOf('other', 'p/'), DIRS, msg), null, 'another bucket is another store');
    const removals = [{ dir: dirOf('/x'), url: 'http://a.example/x', id: 7 }, { dir: '', url: 'http://a.example/logs/', id: 0xffffffff }];
    assert.deepEqual(decodeNews(STORE, DIRS, encodeRemovals(STORE, removals)), { kind: 'removals', removals });
  });

  it('drops malformed and hostile messages without throwing', () => {
    const good = encodeFills(STORE, [key(7)]);
    const { news: n, fills, removals } = news();
    const removal = (dir: string, url: string): Buffer => encodeRemovals(STORE, [{ dir, url, id: 1 }]);
    const hostile = [
      new Uint8Array(0), Uint8Array.of(0xc1), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([1])]),
      Buffer.from([0xc1, 3, ...good.subarray(2)]), Buffer.from('{"ID":"x"}'), new Uint8Array(4096).fill(0xc1),
      Buffer.concat([removal(dirOf('/x'), 'u').subarray(0, 12)]), removal('elsewhere/x/', 'u'), removal(`${DIRS}../x/`, 'u'),
      removal('', ''), Buffer.concat([Buffer.from([0xc1, 2]), STORE, Buffer.from('[[1,2]]')]),
      Buffer.concat([Buffer.from([0xc1, 2]), STORE, Buffer.from('{"dir":"p/hh/x/"}')]),
    ];
    for (const msg of hostile) n.heard(msg);
    assert.deepEqual([fills.length, removals.length, n.fillsLearned, n.removalsLearned], [0, 0, 0, 0]);
    n.heard(good);
    assert.deepEqual(fills, [key(7)]);
  });

  it('sends unsent news first, each item `transmits` times, within the room it is given', () => {
    const { news: n } = news(2);
    for (let i = 0; i < 5; i++) n.tellFill(key(i));
    // Room for 3 keys: 6 bytes of header, 8 per key, plus the per-message overhead.
    assert.deepEqual(fillsIn(n.broadcasts(4, 4 + 6 + 3 * 8)[0]), [key(0), key(1), key(2)]);
    assert.deepEqual(fillsIn(n.broadcasts(4, 4 + 6 + 3 * 8)[0]), [key(3), key(4), key(0)], 'the unsent two, then the least recently sent');
    assert.equal(n.broadcasts(4, 4 + 6 + 7).length, 0, 'no room for one key: nothing');
    assert.deepEqual(fillsIn(n.broadcasts(0, 1400)[0]), [key(1), key(2), key(3), key(4)]);
    assert.equal(n.waiting, 0, 'each fill went out twice, then left');
    assert.deepEqual(n.broadcasts(0, 1400), []);
  });

  it('sends removals before fills in one packet; tells a removal once it succeeded (a purge as its prefix, when it begins and ends), never a failed one or a URL too long for a packet', () => {
    const { news: n } = news(1);
    const notice = (phase: 'begin' | 'end', dir: string, url: string, ok = true): RemovalNotice => ({ phase, dir, url, ok });
    n.tellFill(key(1));
    n.tellRemoval(notice('begin', dirOf('/x'), 'http://a.example/x', false));
    n.tellRemoval(notice('end', dirOf('/x'), 'http://a.example/x'));
    n.tellRemoval(notice('end', dirOf('/f'), 'http://a.example/f', false));
    n.tellRemoval(notice('end', dirOf('/y'), ''));
    n.tellRemoval(notice('begin', '', 'http://a.example/logs/', false));
    n.tellRemoval({ ...notice('begin', dirOf('/logs/1'), 'http://a.example/logs/1', false), local: true });
    n.tellRemoval({ ...notice('end', dirOf('/logs/1'), 'http://a.example/logs/1'), local: true });
    n.tellRemoval(notice('end', '', 'http://a.example/logs/', false));
    n.tellRemoval(notice('end', dirOf('/z'), `http://a.example/${'z'.repeat(2000)}`));
    const [first, second] = n.broadcasts(3, 1400);
    const id = Math.floor(0.5 * 0x100000000);
    assert.deepEqual(decodeNews(STORE, DIRS, first!), { kind: 'removals', removals: [
      { dir: dirOf('/x'), url: 'http://a.example/x', id }, { dir: dirOf('/y'), url: '', id }, { dir: '', url: 'http://a.example/logs/', id },
    ] }, 'the success, the retry that succeeded (its directory only) and the purge');
    assert.deepEqual(fillsIn(second), [key(1)]);
    assert.equal(n.removalsTold, 4, 'the purge twice: its end took the place of its begin in the outbox');
  });

  it('learns each item once and passes it on (memberlist sends a broadcast only from the member that queued it)', () => {
    const { news: n, fills, removals } = news(1);
    const removal = { dir: dirOf('/x'), url: 'http://a.example/x', id: 9 };
    for (let i = 0; i < 2; i++) {
      n.heard(encodeFills(STORE, [key(1), key(2)]));
      n.heard(encodeRemovals(STORE, [removal]));
    }
    assert.deepEqual([fills, removals], [[key(1), key(2)], [removal]], 'the second hearing is not news');
    n.tellFill(key(3));
    n.heard(encodeFills(STORE, [key(3)]));
    assert.equal(n.fillsLearned, 2, 'its own fill heard back is not news either');
    const [relayedRemovals, relayedFills] = n.broadcasts(3, 1400);
    assert.deepEqual(decodeNews(STORE, DIRS, relayedRemovals!), { kind: 'removals', removals: [removal] });
    assert.deepEqual(fillsIn(relayedFills), [key(1), key(2), key(3)]);
    n.heard(encodeRemovals(STORE, [{ ...removal, id: 10 }]));
    assert.equal(removals.length, 2, 'a later removal of the same URL is news again');
  });

  it("a removal another sidecar made is, here, a peer notice (its own removals of the URL are left as they are)", () => {
    const dir = dirOf('/x');
    assert.deepEqual(peerNotice({ dir, url: 'u', id: 1 }), { phase: 'peer', dir, url: 'u', ok: true });
    assert.deepEqual(peerNotice({ dir: '', url: 'http://a.example/', id: 1 }), { phase: 'peer', dir: '', url: 'http://a.example/', ok: true });
  });

  it("a fill stored by one sidecar makes the other's index say present, with no listing", async () => {
    const dir = dirOf('/new');
    const indexes: StoreIndex[] = [];
    const channels = [0, 1].map((i) => new CacheNews({
      storeId: STORE, dirPrefix: DIRS, transmits: () => 1, learnFills: (keys) => indexes[i]!.learn(keys), learnRemoval: () => undefined,
    }));
    for (const channel of channels) {
      indexes.push(new StoreIndex({
        everyMs: 3_600_000, max: 1000, retryMs: 1000, prefix: DIRS, clock: () => 0, log: () => undefined,
        list: async function* () { /* an empty bucket */ }, setTimer: () => ({}), clearTimer: () => undefined,
        stored: (k) => channel.tellFill(k),
      }));
    }
    await Promise.all(indexes.map((i) => i.refresh()));
    assert.equal(indexes[1]!.absent(dir), true, 'before the news: absent');
    indexes[0]!.add(dir);
    for (const msg of channels[0]!.broadcasts(0, 1400)) channels[1]!.heard(msg);
    assert.equal(indexes[1]!.absent(dir), false, 'after the news: maybe present, looked up');
    assert.equal(channels[1]!.fillsLearned, 1);
  });
});

describe('news outbox (news-outbox.ts)', () => {
  it('bounds what waits: past its size, news already sent goes first', () => {
    const box = new Outbox<number>(MAX_FILLS_WAITING);
    box.push('0', 0, 8);
    box.take(8, 10);
    for (let i = 1; i <= MAX_FILLS_WAITING; i++) box.push(String(i), i, 8);
    assert.equal(box.size, MAX_FILLS_WAITING);
    assert.equal(box.dropped, 1);
    assert.deepEqual(box.take(8, 10), [1], 'the dropped one was 0, sent once already');
  });

  it('passes over an item too big for the room instead of holding the rest back; newer news of a key replaces the older', () => {
    const box = new Outbox<string>(10);
    box.push('a', 'big', 100);
    box.push('b', 'small', 10);
    box.push('c', 'old c', 10);
    box.push('c', 'new c', 10);
    assert.deepEqual(box.take(50, 2), ['small', 'new c']);
    assert.equal(box.size, 3);
  });
});

describe('gossip delegate mux (gossip/delegate-mux.ts)', () => {
  function catalog(): Delegate & { got: string[]; sent: Uint8Array[] } {
    const got: string[] = [];
    const sent = [Buffer.from('{"catalog":1}')];
    return {
      got, sent,
      nodeMeta: () => Buffer.from('meta'),
      notifyMsg: (buf) => { got.push(Buffer.from(buf).toString()); },
      getBroadcasts: () => sent.splice(0),
      localState: () => Buffer.from('state'),
      mergeRemoteState: () => undefined,
    };
  }

  it('hands channel messages to their channel and the rest to the catalog', () => {
    const main = catalog();
    const { news: n, fills } = news();
    const mux = new DelegateMux(main);
    mux.add(n);
    mux.notifyMsg(Buffer.from('{"ID":"svc"}'));
    mux.notifyMsg(encodeFills(STORE, [key(3)]));
    mux.notifyMsg(new Uint8Array(0));
    assert.deepEqual(main.got, ['{"ID":"svc"}', '']);
    assert.deepEqual(fills, [key(3)]);
    assert.equal(Buffer.from(mux.nodeMeta(512)).toString(), 'meta');
    assert.equal(Buffer.from(mux.localState(false)).toString(), 'state');
  });

  it("sends the catalog's broadcasts first and fills the rest of the packet with channel news", () => {
    const main = catalog();
    const { news: n } = news();
    for (let i = 0; i < 100; i++) n.tellFill(key(i));
    const mux = new DelegateMux(main);
    mux.add(n);
    const overhead = 3;
    const limit = 200;
    const out = mux.getBroadcasts(overhead, limit);
    assert.equal(Buffer.from(out[0]!).toString(), '{"catalog":1}');
    const used = out.reduce((sum, msg) => sum + overhead + msg.length, 0);
    assert.ok(used <= limit, `${used} bytes fit in ${limit}`);
    assert.equal(fillsIn(out[1])!.length, Math.floor((limit - (overhead + 13) - overhead - 6) / 8));
  });

  it('works without a catalog', () => {
    const mux = new DelegateMux(null);
    mux.notifyMsg(Buffer.from('{}'));
    assert.equal(mux.nodeMeta(512).length, 0);
    assert.equal(mux.localState(true).length, 0);
    assert.deepEqual(mux.getBroadcasts(3, 1400), []);
  });
});
