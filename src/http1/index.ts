/**
 * Strict, incremental HTTP/1.x parsing for the raw proxy engine: message heads as offsets
 * into the received buffer, body framers that count bytes without re-framing, and a
 * serializer for locally generated response heads. No I/O.
 */
export { Body, FIELD_STRIDE, LINE_END, MessageHead, NAME_END, NAME_START, VALUE_END, VALUE_START } from './message-head.js';
export type { BodyKind } from './message-head.js';
export { FLAG_CONNECTION_LISTED, FLAG_HOP_BY_HOP, HeaderKind, KIND_MASK, classifyName } from './header-kinds.js';
export { DEFAULT_MAX_HEAD_SIZE, HeadParser, PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
export type { HeadParserOptions } from './head-parser.js';
export { RequestHead } from './request-head.js';
export type { TargetForm } from './request-head.js';
export { RequestHeadParser } from './request-parser.js';
export type { RequestHeadParserOptions } from './request-parser.js';
export { ResponseHead } from './response-head.js';
export { ResponseHeadParser } from './response-parser.js';
export { ChunkedWalker } from './chunked-walker.js';
export type { ChunkedWalkerOptions, SpanSink } from './chunked-walker.js';
export { TRAILER_STRIDE, TrailerCollector } from './trailer-collector.js';
export { CloseDelimitedBody, FixedLengthBody } from './body-framer.js';
export type { BodyFramer } from './body-framer.js';
export { serializeResponseHead } from './serialize.js';
export { KNOWN_METHODS } from './methods.js';
export type { Http1Error, Http1ErrorCode, Side } from './errors.js';
