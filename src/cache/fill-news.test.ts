import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DelegateMux } from '../gossip/delegate-mux.js';
import type { Delegate } from '../gossip/protocol/types.js';
import type { HashPair } from './bloom.js';
import { decodeFillNews, encodeFillNews, FillNews, MAX_QUEUED, storeIdOf } from './fill-news.js';
import { entryKeys } from './key.js';
import { StoreIndex } from './store-index.js';

const STORE = storeIdOf('bucket', 'p/');
const key = (i: number): HashPair => ({ h1: i, h2: (i * 2 + 1) >>> 0 });

/** A FillNews whose learned keys are collected, each fill sent `transmits` times. */
function news(transmits = 3, storeId = STORE): { news: FillNews; learned: HashPair[] } {
  const learned: HashPair[] = [];
  return { news: new FillNews({ storeId, transmits: () => transmits, learn: (keys) => learned.push(...keys) }), learned };
}

describe('fill news over gossip (fill-news.ts)', () => {
  it('decodes what it encodes, for its own store only', () => {
    const keys = [key(1), { h1: 0xffffffff, h2: 0x80000001 }];
    const msg = encodeFillNews(STORE, keys);
    assert.equal(msg[0], 0xc1);
    assert.deepEqual(decodeFillNews(STORE, msg), keys);
    assert.equal(decodeFillNews(storeIdOf('bucket', 'other/'), msg), null, 'another prefix is another store');
    assert.equal(decodeFillNews(storeIdOf('other', 'p/'), msg), null, 'another bucket is another store');
  });

  it('drops malformed and hostile messages without throwing', () => {
    const good = encodeFillNews(STORE, [key(7)]);
    const { news: n, learned } = news();
    const hostile = [
      new Uint8Array(0), Uint8Array.of(0xc1), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([1])]),
      Buffer.from([0xc1, 2, ...good.subarray(2)]), Buffer.from('{"ID":"x"}'), new Uint8Array(4096).fill(0xc1),
    ];
    for (const msg of hostile) n.heard(msg);
    assert.equal(learned.length, 0);
    assert.equal(n.learned, 0);
    n.heard(good);
    assert.deepEqual(learned, [key(7)]);
  });

  it('sends unsent news first, each fill `transmits` times, within the room it is given', () => {
    const { news: n } = news(2);
    for (let i = 0; i < 5; i++) n.tell(key(i));
    // Room for 3 keys: 6 bytes of header, 8 per key, plus the per-message overhead.
    const first = n.broadcasts(4, 4 + 6 + 3 * 8);
    assert.deepEqual(decodeFillNews(STORE, first[0]!), [key(0), key(1), key(2)]);
    const second = n.broadcasts(4, 4 + 6 + 3 * 8);
    assert.deepEqual(decodeFillNews(STORE, second[0]!), [key(3), key(4), key(0)], 'the unsent two, then the least recently sent');
    assert.equal(n.broadcasts(4, 4 + 6 + 7).length, 0, 'no room for one key: nothing');
    const rest = decodeFillNews(STORE, n.broadcasts(0, 1400)[0]!);
    assert.deepEqual(rest, [key(1), key(2), key(3), key(4)]);
    assert.equal(n.queued, 0, 'each fill went out twice, then left the queue');
    assert.deepEqual(n.broadcasts(0, 1400), []);
  });

  it('bounds what waits: past MAX_QUEUED, news already sent goes first', () => {
    const { news: n } = news(10);
    n.tell(key(0));
    n.broadcasts(0, 100);
    for (let i = 1; i <= MAX_QUEUED; i++) n.tell(key(i));
    assert.equal(n.queued, MAX_QUEUED);
    assert.equal(n.dropped, 1);
    const sent = decodeFillNews(STORE, n.broadcasts(0, 6 + 8)[0]!);
    assert.deepEqual(sent, [key(1)], 'the dropped one was key 0, sent once already');
  });

  it("a fill stored by one sidecar makes the other's index say present, with no listing", async () => {
    const dir = entryKeys('p/', 'http', 'a.example', '/new').dir;
    const indexes: StoreIndex[] = [];
    const channels = [0, 1].map((i) => new FillNews({ storeId: STORE, transmits: () => 1, learn: (keys) => indexes[i]!.learn(keys) }));
    for (const channel of channels) {
      indexes.push(new StoreIndex({
        everyMs: 3_600_000, max: 1000, retryMs: 1000, prefix: 'p/hh/', clock: () => 0, log: () => undefined,
        list: async function* () { /* an empty bucket */ }, setTimer: () => ({}), clearTimer: () => undefined,
        stored: (k) => channel.tell(k),
      }));
    }
    await Promise.all(indexes.map((i) => i.refresh()));
    assert.equal(indexes[1]!.absent(dir), true, 'before the news: absent');
    indexes[0]!.add(dir);
    for (const msg of channels[0]!.broadcasts(0, 1400)) channels[1]!.heard(msg);
    assert.equal(indexes[1]!.absent(dir), false, 'after the news: maybe present, looked up');
    assert.equal(channels[1]!.learned, 1);
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
    const { news: n, learned } = news();
    const mux = new DelegateMux(main);
    mux.add(n);
    mux.notifyMsg(Buffer.from('{"ID":"svc"}'));
    mux.notifyMsg(encodeFillNews(STORE, [key(3)]));
    mux.notifyMsg(new Uint8Array(0));
    assert.deepEqual(main.got, ['{"ID":"svc"}', '']);
    assert.deepEqual(learned, [key(3)]);
    assert.equal(Buffer.from(mux.nodeMeta(512)).toString(), 'meta');
    assert.equal(Buffer.from(mux.localState(false)).toString(), 'state');
  });

  it("sends the catalog's broadcasts first and fills the rest of the packet with channel news", () => {
    const main = catalog();
    const { news: n } = news();
    for (let i = 0; i < 100; i++) n.tell(key(i));
    const mux = new DelegateMux(main);
    mux.add(n);
    const overhead = 3;
    const limit = 200;
    const out = mux.getBroadcasts(overhead, limit);
    assert.equal(Buffer.from(out[0]!).toString(), '{"catalog":1}');
    const used = out.reduce((sum, msg) => sum + overhead + msg.length, 0);
    assert.ok(used <= limit, `${used} bytes fit in ${limit}`);
    assert.equal(decodeFillNews(STORE, out[1]!)!.length, Math.floor((limit - (overhead + 13) - overhead - 6) / 8));
  });

  it('works without a catalog', () => {
    const mux = new DelegateMux(null);
    mux.notifyMsg(Buffer.from('{}'));
    assert.equal(mux.nodeMeta(512).length, 0);
    assert.equal(mux.localState(true).length, 0);
    assert.deepEqual(mux.getBroadcasts(3, 1400), []);
  });
});
