/**
 * Socket and TLS failures as a person reads them. Node passes OpenSSL's own text on
 * (`EPROTO: write EPROTO 803C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version
 * number:../deps/openssl/…`), which names the library's source file but not the mistake. The
 * usual mistake is a plain-HTTP backend listed as https://, and that is what gets said.
 */
export function describeSocketError(err: Error & { code?: string }): string {
  const tls = tlsProblem(err.message);
  if (tls !== null) return tls;
  return err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
}

/** OpenSSL's reasons when the peer's first bytes are not a TLS record: it speaks something else (HTTP, most likely). */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request|record layer failure/i;

/** `…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file.c:350:` → `wrong version number`. */
const OPENSSL_LINE = /error:[0-9A-F]{8}:[^:]*:[^:]*:([^:]+)/;

function tlsProblem(message: string): string | null {
  const openssl = OPENSSL_LINE.exec(message);
  if (openssl === null) return null;
  if (NOT_TLS.test(openssl[1]!)) return 'TLS handshake failed: the backend does not speak TLS on this port (an http:// backend listed as https://?)';
  if (/certificate required/i.test(openssl[1]!)) return 'TLS handshake failed: the backend requires a client certificate (--client-cert, --client-key)';
  return `TLS handshake failed: ${openssl[1]!.trim()}`;
}
