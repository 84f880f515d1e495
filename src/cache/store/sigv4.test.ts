/** The SigV4 signer against the examples of AWS's S3 documentation ("Signature Calculations for the Authorization Header"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_SHA256, SigV4Signer, amzDate, canonicalQuery, encodePath, uriEncode } from './sigv4.js';

const signer = new SigV4Signer({ accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' });
const DATE = '20130524T000000Z';
const HOST = 'examplebucket.s3.amazonaws.com';
const credential = 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';

describe('SigV4 signer (AWS S3 documentation examples)', () => {
  it('signs the GET Object example (with a Range header)', () => {
    const auth = signer.authorization({
      method: 'GET', path: '/test.txt', query: [],
      headers: { host: HOST, range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': DATE },
    }, DATE);
    assert.equal(auth, `${credential},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,` +
      'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('signs the PUT Object example (a "$" in the key, a signed payload hash)', () => {
    const auth = signer.authorization({
      method: 'PUT', path: `/${uriEncode('test$file.text')}`, query: [],
      headers: {
        host: HOST, date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-date': DATE, 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      },
    }, DATE);
    assert.equal(auth, `${credential},SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,` +
      'Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('signs the GET Bucket lifecycle example (a query parameter without a value)', () => {
    const auth = signer.authorization({
      method: 'GET', path: '/', query: [['lifecycle', '']],
      headers: { host: HOST, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': DATE },
    }, DATE);
    assert.equal(auth, `${credential},SignedHeaders=host;x-amz-content-sha256;x-amz-date,` +
      'Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('signs the Get Bucket (List Objects) example (query parameters sorted)', () => {
    const auth = signer.authorization({
      method: 'GET', path: '/', query: [['prefix', 'J'], ['max-keys', '2']],
      headers: { host: HOST, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': DATE },
    }, DATE);
    assert.equal(auth, `${credential},SignedHeaders=host;x-amz-content-sha256;x-amz-date,` +
      'Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('gives the same signature on the second call of a day (the cached signing key)', () => {
    const req = { method: 'GET', path: '/test.txt', query: [], headers: { host: HOST, range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': DATE } };
    assert.equal(signer.authorization(req, DATE), signer.authorization(req, DATE));
    assert.notEqual(signer.authorization(req, '20130525T000000Z'), signer.authorization(req, DATE));
  });

  it('formats x-amz-date', () => {
    assert.equal(amzDate(new Date(Date.UTC(2013, 4, 24, 0, 0, 0, 123))), DATE);
  });
});

describe('S3 URI encoding', () => {
  it('keeps unreserved characters and "/" between path segments, encodes the rest as UTF-8 %XX', () => {
    assert.equal(encodePath('bucket', 'a b/c+d~e%f'), '/bucket/a%20b/c%2Bd~e%25f');
    assert.equal(encodePath('bucket', 'ünï/日本'), '/bucket/%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC');
    assert.equal(encodePath('bucket', "it's(1)*!"), '/bucket/it%27s%281%29%2A%21');
    assert.equal(encodePath('bucket', 'dir//x'), '/bucket/dir//x');
    assert.equal(encodePath('bucket'), '/bucket');
    assert.equal(encodePath('bucket', 'A-Z_a.z~09'), '/bucket/A-Z_a.z~09');
  });

  it('encodes "/" and "=" in query values, and sorts by name', () => {
    assert.equal(canonicalQuery([['prefix', 'a/b c'], ['list-type', '2'], ['continuation-token', 'x+y=']]),
      'continuation-token=x%2By%3D&list-type=2&prefix=a%2Fb%20c');
    assert.equal(canonicalQuery([['uploads', '']]), 'uploads=');
  });
});
