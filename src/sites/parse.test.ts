import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSites } from './parse.js';

const listen = { host: '', port: 8080 };
const urls = (args: string[]) => {
  const { sites, errors } = parseSites(args, listen);
  assert.deepEqual(errors, []);
  return sites.map((site) => site.backends.map((backend) => backend.url));
};
const errorsOf = (args: string[], at = listen) => parseSites(args, at).errors;

describe('parseSites', () => {
  it('makes one site per argument, in failover order, keeping the source', () => {
    const { sites } = parseSites(['a:9000', 'https://b'], listen);
    assert.deepEqual(sites.map((site) => [site.index, site.source]), [[0, 'a:9000'], [1, 'https://b']]);
    assert.deepEqual(urls(['a:9000', 'https://b']), [['http://a:9000'], ['https://b']]);
  });
  it('pools comma-separated zones into one site, each zone expanded', () => {
    assert.deepEqual(urls(['http://z1-m{1...2}:9000,http://z2-m{1...2}:9000']), [
      ['http://z1-m1:9000', 'http://z1-m2:9000', 'http://z2-m1:9000', 'http://z2-m2:9000'],
    ]);
  });
  it('tolerates spaces around zones', () => assert.deepEqual(urls(['a:1, b:1']), [['http://a:1', 'http://b:1']]));
  it('rejects an empty zone', () => assert.deepEqual(errorsOf(['a:1,']), ['site 1 "a:1,": empty zone (a stray comma?)']));
  it('reports a bad ellipsis naming the argument', () => {
    assert.deepEqual(errorsOf(['m{4...1}:9000']), ['site 1 "m{4...1}:9000": "{4...1}" is descending: the start must not exceed the end']);
  });
  it('reports a bad URL once per zone, naming the expanded backend', () => {
    assert.deepEqual(errorsOf(['m{1...3}:70000']), ['site 1 "m{1...3}:70000": m1:70000: port 70000 is out of range 1..65535']);
  });
  it('rejects mixing schemes in one site but allows it across sites', () => {
    assert.deepEqual(errorsOf(['http://a,https://b']), ['site 1 "http://a,https://b": mixes http and https; use one scheme per site']);
    assert.deepEqual(errorsOf(['http://a', 'https://b']), []);
  });
  it('rejects a duplicate backend within a site and across sites', () => {
    assert.deepEqual(errorsOf(['a:9000,http://A:9000/']), ['site 1 "a:9000,http://A:9000/": http://a:9000 is listed twice in this site']);
    assert.deepEqual(errorsOf(['m{1...2}:9000', 'm2:9000']), ['site 2 "m2:9000": http://m2:9000 is already listed in site 1']);
    assert.deepEqual(errorsOf(['http://a', 'a:80']), ['site 2 "a:80": http://a is already listed in site 1']);
  });
  it('treats different base paths as different backends', () => assert.deepEqual(errorsOf(['a:1/x,a:1/y']), []));
  it('rejects a backend that is the listen address', () => {
    assert.deepEqual(errorsOf(['localhost:8080']), [
      'site 1 "localhost:8080": http://localhost:8080 is Outrigger\'s own listen address (:8080): requests would loop']);
    assert.deepEqual(errorsOf(['[::1]:9000'], { host: '::1', port: 9000 }), [
      'site 1 "[::1]:9000": http://[::1]:9000 is Outrigger\'s own listen address ([::1]:9000): requests would loop']);
    assert.deepEqual(errorsOf(['localhost:8080'], { host: '127.0.0.1', port: 0 }), []);
  });
  it('collects every error of every site together', () => {
    assert.deepEqual(errorsOf(['ftp://a', 'u@b:1', 'c:1?x', 'd{1..2}']), [
      'site 1 "ftp://a": scheme "ftp" is not supported (use http or https)',
      'site 2 "u@b:1": user info ("user:password@") is not allowed',
      'site 3 "c:1?x": a query ("?...") is not allowed',
      'site 4 "d{1..2}": "{1..2}" needs three dots: {1...2}',
    ]);
  });
  it('returns no sites for no arguments', () => assert.deepEqual(parseSites([], listen), { sites: [], errors: [] }));
});
