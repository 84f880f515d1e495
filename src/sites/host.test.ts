import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIPv6, checkHostname, parsePort, splitHostPort } from './host.js';

describe('canonicalIPv6', () => {
  it('compresses and lower-cases', () => {
    assert.equal(canonicalIPv6('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIPv6('FE80:0::1'), 'fe80::1');
  });
  it('returns undefined for non-IPv6 text', () => assert.equal(canonicalIPv6('nope'), undefined));
});

describe('checkHostname', () => {
  it('lower-cases DNS names and accepts Docker-style underscores', () => {
    assert.deepEqual(checkHostname('MinIO-1.Example.com'), { ok: true, value: 'minio-1.example.com' });
    assert.deepEqual(checkHostname('my_minio_1'), { ok: true, value: 'my_minio_1' });
  });
  it('accepts IPv4 and rejects malformed numeric hosts', () => {
    assert.deepEqual(checkHostname('10.0.0.1'), { ok: true, value: '10.0.0.1' });
    assert.equal(checkHostname('010.0.0.1').ok, false);
    assert.equal(checkHostname('1.2.3').ok, false);
  });
  it('rejects bad names', () => {
    for (const host of ['-a', 'a-', 'a..b', 'a b', 'a/b', 'é.com']) assert.equal(checkHostname(host).ok, false, host);
  });
});

describe('splitHostPort', () => {
  it('splits host and port', () => assert.deepEqual(splitHostPort('m:9000'), { ok: true, value: { host: 'm', port: '9000' } }));
  it('allows an absent port and an empty host', () => {
    assert.deepEqual(splitHostPort('m'), { ok: true, value: { host: 'm', port: undefined } });
    assert.deepEqual(splitHostPort(':1'), { ok: true, value: { host: '', port: '1' } });
  });
  it('reads bracketed IPv6', () => {
    assert.deepEqual(splitHostPort('[::1]:9000'), { ok: true, value: { host: '::1', port: '9000' } });
    assert.deepEqual(splitHostPort('[::1]'), { ok: true, value: { host: '::1', port: undefined } });
  });
  it('rejects unbracketed IPv6 and broken brackets', () => {
    assert.deepEqual(splitHostPort('::1'), { ok: false, reason: 'an IPv6 address must be in brackets, e.g. [::1]:9000' });
    assert.equal(splitHostPort('[::1').ok, false);
    assert.equal(splitHostPort('[::1]x').ok, false);
    assert.equal(splitHostPort('[nope]:1').ok, false);
  });
});

describe('parsePort', () => {
  it('applies the lower bound and 65535', () => {
    assert.deepEqual(parsePort('0', 0), { ok: true, value: 0 });
    assert.deepEqual(parsePort('0', 1), { ok: false, reason: 'port 0 is out of range 1..65535' });
    assert.deepEqual(parsePort('65536', 1), { ok: false, reason: 'port 65536 is out of range 1..65535' });
    assert.deepEqual(parsePort('', 1), { ok: false, reason: 'port is empty' });
  });
});
