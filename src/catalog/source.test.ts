import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from './catalog.js';
import { CatalogSource, catalogSites } from './source.js';
import { Status, type StatusCode } from './types.js';
import type { SiteSpec } from '../config/types.js';
import { parseSites } from '../sites/parse.js';

const sites = (...args: string[]): SiteSpec[] => {
  const parsed = parseSites(args, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parsed.errors, []);
  return parsed.sites;
};

function instance(c: Catalog, id: string, name: string, port: number, status: StatusCode, servicePort = port, mode: 'http' | 'tcp' = 'http'): void {
  c.setLocal({ ID: id, Name: name, Image: '', Created: '', ProxyMode: mode, Status: status, Ports: [{ Type: 'tcp', Port: port, ServicePort: servicePort, IP: '127.0.0.1' }] });
}

describe('sidecar:// SITEs', () => {
  it('parse as catalog refs beside plain backends, with an optional service port', () => {
    const [a, b] = sites('sidecar://echo,http://127.0.0.1:9000', 'sidecar://api:8080');
    assert.deepEqual(a!.catalog, [{ name: 'echo', servicePort: undefined }]);
    assert.deepEqual(a!.backends.map((x) => x.url), ['http://127.0.0.1:9000']);
    assert.deepEqual(b!.catalog, [{ name: 'api', servicePort: 8080 }]);
    assert.deepEqual(b!.backends, []);
  });

  it('refuse a bad name or port, naming the site', () => {
    const { errors } = parseSites(['sidecar://', 'sidecar://x:99999', 'sidecar://a b'], { host: '', port: 0 });
    assert.equal(errors.length, 3);
    assert.match(errors[0]!, /^site 1 "sidecar:\/\/": .*sidecar:\/\/NAME/);
    assert.match(errors[1]!, /^site 2 .*service port must be 1\.\.65535/);
  });

  it('take only ALIVE HTTP instances of the name, on the asked service port', () => {
    const c = new Catalog('n1');
    instance(c, 'a', 'echo', 9001, Status.ALIVE);
    instance(c, 'b', 'echo', 9002, Status.UNHEALTHY);
    instance(c, 'd', 'echo', 9003, Status.DRAINING);
    instance(c, 'e', 'echo', 9004, Status.UNKNOWN);
    instance(c, 'f', 'echo', 9005, Status.ALIVE, 9005, 'tcp');
    instance(c, 'g', 'other', 9006, Status.ALIVE);
    instance(c, 'h', 'api', 9007, Status.ALIVE, 8080);
    instance(c, 'i', 'api', 9008, Status.ALIVE, 8081);
    const out = catalogSites(c.servicesByName(), sites('sidecar://echo', 'http://127.0.0.1:7000', 'sidecar://api:8080'));
    assert.deepEqual(out.map((s) => s.backends.map((b) => b.url)), [['http://127.0.0.1:9001'], [], ['http://127.0.0.1:9007']]);
    assert.deepEqual(out.map((s) => s.index), [0, 1, 2]);
  });

  it('emit when the instances change and only then', () => {
    const c = new Catalog('n1');
    const emitted: string[][] = [];
    const source = new CatalogSource(c, sites('sidecar://echo'));
    source.start((s) => emitted.push(s[0]!.backends.map((b) => b.url)));
    instance(c, 'a', 'echo', 9001, Status.UNKNOWN);
    instance(c, 'a', 'echo', 9001, Status.ALIVE);
    c.reannounce(); // a new version, the same backends: nothing to emit
    instance(c, 'b', 'echo', 9002, Status.ALIVE);
    instance(c, 'a', 'echo', 9001, Status.DRAINING);
    c.removeLocal('b');
    source.stop();
    instance(c, 'c', 'echo', 9003, Status.ALIVE);
    assert.deepEqual(emitted, [[], ['http://127.0.0.1:9001'], ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'], ['http://127.0.0.1:9002'], []]);
  });
});
