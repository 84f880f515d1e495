import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SiteSpec } from '../config/types.js';
import { parseSitesText, readSitesFile, SitesFileSource } from './sites-file.js';

const listen = { host: '127.0.0.1', port: 8080 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-sites-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const urls = (sites: readonly SiteSpec[]): string[][] => sites.map((s) => s.backends.map((b) => b.url));

describe('sites file', () => {
  it('reads one site per line; # comments and blank lines are skipped', () => {
    const r = parseSitesText('# primary\nhttp://a:1, http://b:1  # two\n\n  http://c:1\n', 'f', listen);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(urls(r.sites), [['http://a:1', 'http://b:1'], ['http://c:1']]);
  });

  it('names the line of every problem', () => {
    const r = parseSitesText('http://a:1\n# ok\nftp://b:1\nhttp://a:1\n', 'sites.txt', listen);
    assert.deepEqual(r.errors, [
      'sites.txt:3: "ftp://b:1": scheme "ftp" is not supported (use http or https)',
      'sites.txt:4: "http://a:1": http://a:1 is already listed in site 1',
    ]);
  });

  it('refuses a file without any SITE, and a file that cannot be read', () => {
    assert.deepEqual(parseSitesText('# nothing\n', 'f', listen).errors, ['f: no SITE in the file (one per line)']);
    assert.match(readSitesFile(path.join(dir, 'missing'), listen).errors[0]!, /missing: cannot read it \(no such file\)/);
  });

  it('re-reads on reload(); a bad edit keeps the sites in use and is logged once with its line', () => {
    const file = path.join(dir, 'sites');
    fs.writeFileSync(file, 'http://a:1\n');
    const logs: string[] = [];
    const emitted: string[][][] = [];
    const seen = SitesFileSource.signature(file);
    // No watching in this test (a poll of an hour, events only after settle): reload() alone must re-read.
    const source = new SitesFileSource(file, listen, readSitesFile(file, listen), seen, (m) => logs.push(m), { pollMs: 3_600_000, settleMs: 3_600_000 });
    source.start((sites) => emitted.push(urls(sites)));
    fs.writeFileSync(file, 'http://a:1,http://b:1\n');
    source.reload();
    assert.deepEqual(emitted, [[['http://a:1']], [['http://a:1', 'http://b:1']]]);
    fs.writeFileSync(file, 'http://a:1\nhttp://[::1\n');
    source.reload();
    source.reload();
    assert.equal(emitted.length, 2, 'nothing applied from a bad file');
    assert.equal(logs.filter((l) => l.includes('not applied')).length, 1, logs.join('\n'));
    assert.ok(logs.some((l) => l.includes(`${file}:2: `)), logs.join('\n'));
    source.reload();
    assert.equal(emitted.length, 2);
    source.stop();
  });
});
