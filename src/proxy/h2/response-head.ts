/**
 * A backend's response head as HTTP/2 HEADERS, encoded straight from the bytes the backend sent:
 * field values are copied into the header block as they are, with no string or header object
 * made for them. Which fields go and under which name is header-rules.ts's decision.
 */
import { FIELD_STRIDE, VALUE_END, VALUE_START, type ResponseHead } from '../../http1/index.js';
import { h2ExtraName, h2ResponseNames } from '../header-rules.js';
import { encodeField, encodeFieldBytes, encodeStatus, fieldBound } from './hpack/encoder.js';
import type { H2Stream } from './stream.js';

/** `names`: a scratch array (reused across heads). `extra`: fields the filters add, name/value flat list. */
export function respondBackendHead(stream: H2Stream, h: ResponseHead, names: string[], extra: readonly string[] | null): void {
  h2ResponseNames(h, names);
  const offsets = h.offsets;
  let bound = 5 + fieldBound(7, 4); // :status, x-proxy: true
  for (let i = 0; i < names.length; i++) {
    const o = i * FIELD_STRIDE;
    if (names[i] !== '') bound += fieldBound(names[i]!.length, offsets[o + VALUE_END]! - offsets[o + VALUE_START]!);
  }
  if (extra !== null) for (let i = 0; i + 1 < extra.length; i += 2) bound += fieldBound(extra[i]!.length, extra[i + 1]!.length);
  const blockStart = stream.openHead(bound);
  const buf = stream.outBuffer;
  let pos = encodeStatus(buf, blockStart, h.statusCode);
  for (let i = 0; i < names.length; i++) {
    const o = i * FIELD_STRIDE;
    if (names[i] !== '') pos = encodeFieldBytes(buf, pos, names[i]!, h.buffer, offsets[o + VALUE_START]!, offsets[o + VALUE_END]!);
  }
  if (extra !== null) {
    for (let i = 0; i + 1 < extra.length; i += 2) {
      const name = h2ExtraName(extra[i]!, names);
      if (name !== '') pos = encodeField(buf, pos, name, extra[i + 1]!);
    }
  }
  pos = encodeField(buf, pos, 'x-proxy', 'true');
  stream.closeHead(h.statusCode, blockStart, pos, false);
}
