import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBackendUrl } from './backend-url.js';

const parse = (text: string) => {
  const result = parseBackendUrl(text);
  if (!result.ok) assert.fail(`${text}: ${result.reason}`);
  return result.value;
};
const reason = (text: string): string => {
  const result = parseBackendUrl(text);
  if (result.ok) assert.fail(`${text} parsed as ${result.value.url}`);
  return result.reason;
};

describe('parseBackendUrl', () => {
  it('adds http:// when there is no scheme, so "minio1:9000" is host minio1', () => {
    assert.deepEqual(parse('minio1:9000'), { url: 'http://minio1:9000', protocol: 'http:', hostname: 'minio1', port: 9000, basePath: '' });
  });
  it('uses the default port and omits it from url', () => {
    assert.deepEqual(parse('https://S3.Example.com:443/'), {
      url: 'https://s3.example.com', protocol: 'https:', hostname: 's3.example.com', port: 443, basePath: '' });
    assert.equal(parse('HTTP://m').port, 80);
    assert.equal(parse('http://m:80').url, 'http://m');
  });
  it('keeps a non-default port, e.g. http on 443', () => assert.equal(parse('http://m:443').url, 'http://m:443'));
  it('keeps a base path without trailing slashes', () => {
    const backend = parse('http://m:9000/api/v1//');
    assert.equal(backend.basePath, '/api/v1');
    assert.equal(backend.url, 'http://m:9000/api/v1');
  });
  it('brackets IPv6 in url and leaves hostname bare', () => {
    const backend = parse('http://[0:0::1]:9000');
    assert.equal(backend.url, 'http://[::1]:9000');
    assert.equal(backend.hostname, '::1');
    assert.equal(parse('[::1]:9000').url, 'http://[::1]:9000');
  });
  it('accepts DNS names as they are', () => assert.equal(parse('minio-1.svc.cluster.local:9000').hostname, 'minio-1.svc.cluster.local'));
  it('accepts only http and https', () => {
    assert.equal(reason('ftp://m'), 'scheme "ftp" is not supported (use http or https)');
    assert.equal(reason('ws://m'), 'scheme "ws" is not supported (use http or https)');
  });
  it('requires a host', () => {
    assert.equal(reason('http://'), 'a host is required');
    assert.equal(reason('http://:9000'), 'a host is required');
    assert.equal(reason(':9000'), 'a host is required');
  });
  it('requires a port in 1..65535', () => {
    assert.equal(reason('m:0'), 'port 0 is out of range 1..65535');
    assert.equal(reason('m:65536'), 'port 65536 is out of range 1..65535');
    assert.equal(reason('m:x'), 'port "x" is not a whole number');
    assert.equal(reason('m:'), 'port is empty');
  });
  it('rejects userinfo, query and fragment', () => {
    assert.equal(reason('http://u:p@m:9000'), 'user info ("user:password@") is not allowed');
    assert.equal(reason('http://m:9000/?a=1'), 'a query ("?...") is not allowed');
    assert.equal(reason('http://m:9000?a=1'), 'a query ("?...") is not allowed');
    assert.equal(reason('http://m:9000#x'), 'a fragment ("#...") is not allowed');
  });
  it('rejects a malformed scheme and bad hosts', () => {
    assert.match(reason('://m'), /scheme/);
    assert.match(reason('http://m m:1'), /not a valid host name/);
    assert.match(reason('http://::1:9000'), /must be in brackets/);
    assert.match(reason('http://m/a b'), /spaces/);
  });
});
