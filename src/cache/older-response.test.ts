/**
 * What one process knows of an entry is never set back to an older response of it: a fill whose
 * store answer came after a newer response's was saved, or a store read answered late, leaves the
 * remembered metadata (recall.ts) and the memory tier's copy (memory-tier.ts) of the newer one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { olderThan, type Entry } from './entry.js';
import { MemoryTier } from './memory-tier.js';
import { Recall } from './recall.js';

/** An entry of a response received at `t` (the policy's response time), its body `bodyEtag`. */
function entryAt(t: number, bodyEtag: string, size = 10): Entry {
  return { v: 1, url: 'http://example.test/a', status: 200, headers: [], vary: [], policy: { v: 1, t } as Entry['policy'], size, bodyEtag };
}

describe('an older response never replaces a newer one', () => {
  it('olderThan compares the response times; nothing known is never newer', () => {
    assert.equal(olderThan(entryAt(1000, '"a"'), entryAt(2000, '"b"')), true);
    assert.equal(olderThan(entryAt(2000, '"b"'), entryAt(1000, '"a"')), false);
    assert.equal(olderThan(entryAt(1000, '"a"'), entryAt(1000, '"b"')), false, 'the same time: the later write wins');
    assert.equal(olderThan(entryAt(1000, '"a"'), undefined), false);
  });

  it('Recall keeps the metadata of the newer response of a variant; a newer one replaces it', () => {
    const recall = new Recall();
    recall.rememberMeta('u/', 'u/', entryAt(2000, '"new"'), -1);
    recall.rememberMeta('u/', 'u/', entryAt(1000, '"old"'), -1);
    assert.equal(recall.meta('u/', 'u/')?.bodyEtag, '"new"');
    recall.rememberMeta('u/', 'u/', entryAt(3000, '"newer"'), -1);
    assert.equal(recall.meta('u/', 'u/')?.bodyEtag, '"newer"');
    // Forgotten (its body was replaced in the store): whatever is read next is remembered.
    recall.forgetMeta('u/', 'u/');
    recall.rememberMeta('u/', 'u/', entryAt(1000, '"old"'), -1);
    assert.equal(recall.meta('u/', 'u/')?.bodyEtag, '"old"');
  });

  it('the memory tier keeps the body of the newer response; a newer one replaces it', () => {
    const tier = new MemoryTier(1 << 20);
    tier.set('u/', entryAt(2000, '"new"'), Buffer.from('new body'));
    tier.set('u/', entryAt(1000, '"old"'), Buffer.from('old body'));
    assert.deepEqual([tier.get('u/')?.entry.bodyEtag, tier.get('u/')?.body.toString()], ['"new"', 'new body']);
    assert.equal(tier.plain('http://example.test/a')?.body.toString(), 'new body');
    tier.set('u/', entryAt(3000, '"newer"'), Buffer.from('newer body'));
    assert.equal(tier.get('u/')?.body.toString(), 'newer body');
    assert.equal(tier.bytes, tier.get('u/')!.bytes, 'one entry held, counted once');
  });
});
