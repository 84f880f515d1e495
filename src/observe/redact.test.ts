import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, redactHeaders, redactTarget } from './redact.js';

describe('redactHeaders', () => {
  it('keeps the scheme of Authorization and Proxy-Authorization, never the secret', () => {
    const out = redactHeaders({ Authorization: 'Bearer eyJhbGciOi.secret', 'proxy-authorization': 'Basic dXNlcjpwYXNz' });
    assert.deepEqual(out, { Authorization: `Bearer ${REDACTED}`, 'proxy-authorization': `Basic ${REDACTED}` });
    assert.equal(redactHeaders({ Authorization: 'justatoken' })['Authorization'], REDACTED);
  });

  it('keeps the scope and signed headers of a SigV4 Authorization, drops the key id and the signature', () => {
    const v = 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
    const out = String(redactHeaders({ authorization: v })['authorization']);
    assert.equal(out, `AWS4-HMAC-SHA256 Credential=${REDACTED}/20261129/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${REDACTED}`);
  });

  it('keeps cookie names and Set-Cookie attributes, not their values (lists too)', () => {
    const out = redactHeaders({ Cookie: 'sid=abc123; theme=dark', 'Set-Cookie': ['sid=abc123; Path=/; HttpOnly', 'x=1'] });
    assert.equal(out['Cookie'], `sid=${REDACTED}; theme=${REDACTED}`);
    assert.deepEqual(out['Set-Cookie'], [`sid=${REDACTED}; Path=/; HttpOnly`, `x=${REDACTED}`]);
  });

  it('redacts X-Amz-Security-Token and leaves every other header as it is', () => {
    const out = redactHeaders({ 'X-Amz-Security-Token': 'FwoGZXIvYXdz', 'X-Amz-Date': '20261129T000000Z', Host: 'h' });
    assert.deepEqual(out, { 'X-Amz-Security-Token': REDACTED, 'X-Amz-Date': '20261129T000000Z', Host: 'h' });
  });
});

describe('redactTarget', () => {
  it('redacts the signature, token and key id of a SigV4 presigned URL, keeping the rest', () => {
    const t = '/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request'
      + '&X-Amz-Date=20261129T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoG&X-Amz-Signature=deadbeef';
    assert.equal(redactTarget(t), '/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=' + REDACTED
      + '%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host'
      + `&X-Amz-Security-Token=${REDACTED}&X-Amz-Signature=${REDACTED}`);
  });

  it('redacts the Signature of a SigV2 presigned URL, whatever the case of the name', () => {
    assert.equal(redactTarget('/b/k?AWSAccessKeyId=AKID&Expires=1700000000&Signature=abc%2Bdef%3D'),
      `/b/k?AWSAccessKeyId=AKID&Expires=1700000000&Signature=${REDACTED}`);
    assert.equal(redactTarget('/b/k?x-amz-signature=abc'), `/b/k?x-amz-signature=${REDACTED}`);
  });

  it('leaves paths without a query, and queries without credentials, unchanged', () => {
    for (const t of ['/', '/a/Signature=x', '/b?list-type=2&prefix=a', '/b?uploads', '/b?a=1&&b']) assert.equal(redactTarget(t), t);
  });
});
