/**
 * Stable error codes of the HTTP/1 parsers, and the status the proxy answers with.
 *
 * Scanners return plain negative numbers (`-id`) instead of throwing or allocating, so the
 * hot path stays allocation-free; the public parsers turn an id into a frozen Http1Error.
 */

/** Side of the proxy a message came from: it decides which status the proxy answers with. */
export type Side = 'request' | 'response';

export type Http1ErrorCode =
  | 'HEAD_TOO_LARGE'
  | 'BAD_REQUEST_LINE'
  | 'BAD_METHOD'
  | 'UNKNOWN_METHOD'
  | 'BAD_TARGET'
  | 'BAD_VERSION'
  | 'UNSUPPORTED_VERSION'
  | 'HTTP2_PREFACE'
  | 'BAD_STATUS_LINE'
  | 'BAD_HEADER_NAME'
  | 'SPACE_BEFORE_COLON'
  | 'BAD_HEADER_VALUE'
  | 'OBS_FOLD'
  | 'BARE_LF'
  | 'BARE_CR'
  | 'BAD_CONTENT_LENGTH'
  | 'DUPLICATE_CONTENT_LENGTH'
  | 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING'
  | 'BAD_TRANSFER_ENCODING'
  | 'UNSUPPORTED_TRANSFER_ENCODING'
  | 'MISSING_HOST'
  | 'DUPLICATE_HOST'
  | 'BAD_HOST'
  | 'BAD_CHUNK_SIZE'
  | 'BAD_CHUNK_EXTENSION'
  | 'CHUNK_LINE_TOO_LONG'
  | 'BAD_CHUNK_END'
  | 'BAD_TRAILER'
  | 'TRAILER_TOO_LARGE';

export interface Http1Error {
  readonly code: Http1ErrorCode;
  /** Status the proxy should answer the client with (always 502 for a bad upstream message). */
  readonly status: number;
  readonly message: string;
}

/** [code, status for a request, message]; the index + 2 is the internal id (0 and -1 are taken). */
const TABLE: ReadonlyArray<readonly [Http1ErrorCode, number, string]> = [
  ['HEAD_TOO_LARGE', 431, 'message head exceeds the size limit'],
  ['BAD_REQUEST_LINE', 400, 'malformed request line'],
  ['BAD_METHOD', 400, 'method is not a token'],
  ['UNKNOWN_METHOD', 501, 'method not implemented'],
  ['BAD_TARGET', 400, 'malformed request target'],
  ['BAD_VERSION', 400, 'malformed HTTP version'],
  ['UNSUPPORTED_VERSION', 505, 'HTTP version not supported'],
  ['HTTP2_PREFACE', 505, 'HTTP/2 connection preface on an HTTP/1 port'],
  ['BAD_STATUS_LINE', 400, 'malformed status line'],
  ['BAD_HEADER_NAME', 400, 'header name is not a token or has no colon'],
  ['SPACE_BEFORE_COLON', 400, 'whitespace in a header name or before its colon'],
  ['BAD_HEADER_VALUE', 400, 'control character in header value'],
  ['OBS_FOLD', 400, 'obsolete line folding'],
  ['BARE_LF', 400, 'line ends with LF without CR'],
  ['BARE_CR', 400, 'CR not followed by LF'],
  ['BAD_CONTENT_LENGTH', 400, 'invalid Content-Length'],
  ['DUPLICATE_CONTENT_LENGTH', 400, 'more than one Content-Length'],
  ['CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 400, 'both Content-Length and Transfer-Encoding'],
  ['BAD_TRANSFER_ENCODING', 400, 'invalid Transfer-Encoding'],
  ['UNSUPPORTED_TRANSFER_ENCODING', 501, 'unknown transfer coding'],
  ['MISSING_HOST', 400, 'HTTP/1.1 request without Host'],
  ['DUPLICATE_HOST', 400, 'more than one Host'],
  ['BAD_HOST', 400, 'invalid Host'],
  ['BAD_CHUNK_SIZE', 400, 'invalid chunk size line'],
  ['BAD_CHUNK_EXTENSION', 400, 'invalid chunk extension'],
  ['CHUNK_LINE_TOO_LONG', 400, 'chunk size line too long'],
  ['BAD_CHUNK_END', 400, 'chunk data not followed by CRLF'],
  ['BAD_TRAILER', 400, 'invalid trailer field'],
  ['TRAILER_TOO_LARGE', 431, 'trailer section exceeds the size limit'],
];

function build(side: Side): readonly Http1Error[] {
  const out: Http1Error[] = [];
  for (const [code, status, message] of TABLE) {
    out.push(Object.freeze({ code, status: side === 'request' ? status : 502, message }));
  }
  return out;
}

const REQUEST_ERRORS = build('request');
const RESPONSE_ERRORS = build('response');

/** Internal ids, as used by the scanners (`return -E.BAD_TARGET`). */
export const E = Object.freeze(
  Object.fromEntries(TABLE.map(([code], i) => [code, i + 2])) as Record<Http1ErrorCode, number>,
);

/** Maps an internal id to its frozen public error object (no allocation). */
export function errorFor(id: number, side: Side): Http1Error {
  const err = (side === 'request' ? REQUEST_ERRORS : RESPONSE_ERRORS)[id - 2];
  if (err === undefined) throw new RangeError(`unknown http1 error id ${id}`);
  return err;
}

/** Scanner results: a non-negative value is a position, these two are the special ones. */
export const NEED_MORE = -1;
