import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeSocketError } from './errors.js';

const error = (code: string, message: string): Error & { code: string } => Object.assign(new Error(message), { code });

describe('describeSocketError', () => {
  it('says what a TLS handshake with a plain-HTTP backend means, without OpenSSL\'s internals', () => {
    const raw = 'write EPROTO 803C02B2307F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
    const text = describeSocketError(error('EPROTO', raw));
    assert.equal(text, 'TLS handshake failed: the backend does not speak TLS on this port (an http:// backend listed as https://?)');
  });

  it('says when the backend wants a client certificate', () => {
    const raw = 'C0F7:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 116\n';
    assert.equal(describeSocketError(error('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', raw)),
      'TLS handshake failed: the backend requires a client certificate (--client-cert, --client-key)');
  });

  it('keeps only the reason of any other OpenSSL error', () => {
    const raw = 'C0F7:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 40';
    assert.equal(describeSocketError(error('EPROTO', raw)), 'TLS handshake failed: sslv3 alert handshake failure');
  });

  it('leaves other errors as code and message', () => {
    assert.equal(describeSocketError(error('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')), 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(describeSocketError(error('ECONNRESET', 'socket hang up')), 'ECONNRESET: socket hang up');
    assert.equal(describeSocketError(new Error('plain')), 'plain');
  });
});
