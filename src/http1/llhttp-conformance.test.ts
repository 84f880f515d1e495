/**
 * Conformance against Node's own llhttp (default, non-lenient settings): every raw request
 * below goes to a real http.Server over a socket and through our parsers. Wherever llhttp
 * rejects, we must reject too. Where we are stricter, the case must be listed in STRICTER with
 * the reason, so any change in either parser shows up here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { FixedLengthBody } from './body-framer.js';
import { ChunkedWalker } from './chunked-walker.js';
import { PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
import { Body } from './message-head.js';
import { RequestHeadParser } from './request-parser.js';

const H = 'Host: a\r\n';
const P = `POST / HTTP/1.1\r\n${H}`;
const CH = `${P}Transfer-Encoding: chunked\r\n\r\n`;

const CASES: Record<string, string> = {
  // Valid requests, to show both sides agree on ordinary traffic.
  'simple GET': `GET /a?b=c HTTP/1.1\r\n${H}User-Agent: x\r\n\r\n`,
  'POST with Content-Length': `${P}Content-Length: 5\r\n\r\nhello`,
  'CL with OWS': `${P}Content-Length:  5 \r\n\r\nhello`,
  'chunked with extensions and trailers': `${CH}5;a=b;c="d e"\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`,
  'gzip, chunked': `${P}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
  'TE upper case': `${P}Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n`,
  'TE with leading tab': `${P}Transfer-Encoding:\tchunked \r\n\r\n0\r\n\r\n`,
  'TE with trailing tab': `${P}Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n`,
  'CL with trailing tab': `${P}Content-Length: 1\t\r\n\r\nx`,
  'CL with leading tab': `${P}Content-Length:\t1\r\n\r\nx`,
  'TE over two lines': `${P}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  'three pipelined': `GET /1 HTTP/1.1\r\n${H}\r\n${P}Content-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\n${H}\r\n`,
  'CRLF between pipelined': `${P}Content-Length: 1\r\n\r\nx\r\nGET / HTTP/1.1\r\n${H}\r\n`,
  'leading CRLF': `\r\nGET / HTTP/1.1\r\n${H}\r\n`,
  'HTTP/1.0 without Host': 'GET / HTTP/1.0\r\n\r\n',
  'absolute-form': `GET http://a.example:9000/p?q HTTP/1.1\r\n${H}\r\n`,
  'OPTIONS *': `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  'CONNECT': 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n',
  'websocket upgrade': `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
  'Expect 100-continue': `PUT /k HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok`,
  'obs-text in value': `GET / HTTP/1.1\r\n${H}X-N: caf\xe9\r\n\r\n`,
  'empty value': `GET / HTTP/1.1\r\n${H}X-E:\r\n\r\n`,
  'M-SEARCH': `M-SEARCH * HTTP/1.1\r\n${H}\r\n`,
  'odd Connection value': `GET / HTTP/1.1\r\n${H}Connection: close;x\r\n\r\n`,
  'Transfer_Encoding is another header': `${P}Transfer_Encoding: chunked\r\nContent-Length: 0\r\n\r\n`,
  // Smuggling: two framings, or one framing both parsers might read differently.
  'CL.TE': `${P}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
  'TE.CL': `${P}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
  'TE.TE second bogus': `${P}Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n`,
  'TE space before colon': `${P}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
  'TE folded': `${P}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
  'TE line folded onto previous': `${P}X: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  'TE xchunked': `${P}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
  'TE quoted': `${P}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`,
  'TE vertical tab': `${P}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n`,
  'TE leading vertical tab': `${P}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`,
  'TE NUL': `${P}Transfer-Encoding: chunk\0ed\r\n\r\n0\r\n\r\n`,
  'TE chunked, identity': `${P}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
  'TE identity': `${P}Transfer-Encoding: identity\r\n\r\n`,
  'TE chunked twice': `${P}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
  'TE parameter': `${P}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`,
  'TE empty element': `${P}Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n`,
  'TE empty': `${P}Transfer-Encoding:\r\n\r\n`,
  'TE in HTTP/1.0': 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'TE after bare LF': `${P}X: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  'CL +5': `${P}Content-Length: +5\r\n\r\nhello`,
  'CL -5': `${P}Content-Length: -5\r\n\r\n`,
  'CL 5 5': `${P}Content-Length: 5 5\r\n\r\nhello`,
  'CL 0x5': `${P}Content-Length: 0x5\r\n\r\nhello`,
  'CL duplicate same': `${P}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
  'CL duplicate different': `${P}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello`,
  'CL list': `${P}Content-Length: 5, 5\r\n\r\nhello`,
  'CL empty': `${P}Content-Length:\r\n\r\n`,
  'CL overflow': `${P}Content-Length: 99999999999999999999\r\n\r\n`,
  'CL vertical tab': `${P}Content-Length:\x0b5\r\n\r\nhello`,
  'CL space before colon': `${P}Content-Length : 5\r\n\r\nhello`,
  // Line shape.
  'obs-fold': `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`,
  'space before first header': `GET / HTTP/1.1\r\n ${H}\r\n`,
  'bare LF request line': `GET / HTTP/1.1\n${H}\r\n`,
  'bare LF header': `GET / HTTP/1.1\r\nHost: a\n\r\n`,
  'bare LF end of head': `GET / HTTP/1.1\r\n${H}\n`,
  'bare CR in value': `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`,
  'NUL in value': `GET / HTTP/1.1\r\n${H}X: a\0b\r\n\r\n`,
  'DEL in value': `GET / HTTP/1.1\r\n${H}X: a\x7f\r\n\r\n`,
  'ESC in value': `GET / HTTP/1.1\r\n${H}X: \x1b\r\n\r\n`,
  'non-token header name': `GET / HTTP/1.1\r\n${H}X(y): 1\r\n\r\n`,
  'space in header name': `GET / HTTP/1.1\r\n${H}X y: 1\r\n\r\n`,
  'empty header name': `GET / HTTP/1.1\r\n${H}: 1\r\n\r\n`,
  'header without colon': `GET / HTTP/1.1\r\n${H}X\r\n\r\n`,
  // Host.
  'missing Host': 'GET / HTTP/1.1\r\n\r\n',
  'duplicate Host': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'Host with slash': 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n',
  // Request line.
  'double space': `GET  / HTTP/1.1\r\n${H}\r\n`,
  'trailing space': `GET / HTTP/1.1 \r\n${H}\r\n`,
  'missing version': 'GET /\r\n\r\n',
  'HTTP/1.2': `GET / HTTP/1.2\r\n${H}\r\n`,
  'HTTP/2.0': `GET / HTTP/2.0\r\n${H}\r\n`,
  'HTTP/2 preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'lower-case version': `GET / http/1.1\r\n${H}\r\n`,
  'unknown method': `FOO / HTTP/1.1\r\n${H}\r\n`,
  'lower-case method': `get / HTTP/1.1\r\n${H}\r\n`,
  'raw UTF-8 in target': `GET /caf\xc3\xa9 HTTP/1.1\r\n${H}\r\n`,
  'NUL in target': `GET /\0 HTTP/1.1\r\n${H}\r\n`,
  'relative target': `GET abc HTTP/1.1\r\n${H}\r\n`,
  'asterisk with GET': `GET * HTTP/1.1\r\n${H}\r\n`,
  'CONNECT with a path': `CONNECT /x HTTP/1.1\r\n${H}\r\n`,
  'absolute-form with userinfo': `GET http://u@a/ HTTP/1.1\r\n${H}\r\n`,
  // Chunked bodies.
  'chunk size not hex': `${CH}g\r\nx\r\n0\r\n\r\n`,
  'chunk size 0x': `${CH}0x1\r\nx\r\n0\r\n\r\n`,
  'chunk size overflow': `${CH}fffffffffffffffff\r\nx\r\n0\r\n\r\n`,
  'chunk size then space': `${CH}1 \r\nx\r\n0\r\n\r\n`,
  'chunk BWS before extension': `${CH}1 ;a\r\nx\r\n0\r\n\r\n`,
  'chunk BWS in extension': `${CH}1;a = b\r\nx\r\n0\r\n\r\n`,
  'chunk bare LF after size': `${CH}1\nx\r\n0\r\n\r\n`,
  'chunk data too long': `${CH}1\r\nxx\r\n0\r\n\r\n`,
  'chunk bare LF after data': `${CH}1\r\nx\n0\r\n\r\n`,
  'trailer folded': `${CH}0\r\nX: 1\r\n 2\r\n\r\n`,
  'trailer bad name': `${CH}0\r\nX Y: 1\r\n\r\n`,
  'last chunk bare LF': `${CH}0\r\n\n`,
};

/** Cases we reject and llhttp accepts, and why. */
const STRICTER: Record<string, string> = {
  'duplicate Host': 'RFC 9112 §3.2 requires 400; two Hosts let proxy and backend disagree on the authority',
  'Host with slash': 'not a valid uri-host [":" port] (same check as Go\'s net/http)',
  'TE empty element': 'empty list members in Transfer-Encoding are never legitimate; refusing them avoids parser disagreement',
  'TE empty': 'a Transfer-Encoding with no coding is meaningless framing',
  'TE in HTTP/1.0': 'RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing',
  'missing version': 'HTTP/0.9 requests are not supported',
  'asterisk with GET': 'RFC 9112 §3.2.4: asterisk-form is only for OPTIONS',
  'CONNECT with a path': 'RFC 9112 §3.2.3: CONNECT takes authority-form',
  'absolute-form with userinfo': 'RFC 9110 §4.2.4: userinfo in an http URI is to be treated as an error',
  'M-SEARCH': 'asterisk-form is only for OPTIONS (RFC 9112 §3.2.4); M-SEARCH * is SSDP over UDP, not for a proxy',
  'double space': 'RFC 9112 §3: exactly one SP between request-line parts (extra spaces let parsers split the target differently)',
  'HTTP/2.0': 'only HTTP/1.0 and 1.1 are spoken on this port: 505',
};

interface Verdict { rejected: boolean; requests: number; detail: string }

/** Our side: heads and bodies back to back until the buffer is used up or something fails. */
function ours(raw: Buffer): Verdict {
  const parser = new RequestHeadParser();
  let pos = 0;
  let requests = 0;
  while (pos < raw.length) {
    const end = parser.parse(raw, pos);
    if (end === PARSE_ERROR) return { rejected: true, requests, detail: parser.error!.code };
    if (end === PARSE_NEED_MORE) return { rejected: false, requests, detail: 'incomplete head' };
    requests++;
    const h = parser.head;
    if (h.upgrade || h.method === 'CONNECT') return { rejected: false, requests, detail: 'tunnel' };
    const framer = h.bodyKind === Body.CHUNKED ? new ChunkedWalker() : new FixedLengthBody(h.bodyKind === Body.FIXED ? h.contentLength : 0);
    const n = framer.feed(raw, end);
    if (n < 0) return { rejected: true, requests, detail: framer.error!.code };
    if (!framer.done) return { rejected: false, requests, detail: 'incomplete body' };
    pos = end + n;
  }
  return { rejected: false, requests, detail: 'ok' };
}

interface Recorder { requests: number; errors: string[] }

/** llhttp's side: send, half-close, and collect until the server closes. */
async function llhttp(port: number, raw: Buffer, rec: Recorder): Promise<Verdict> {
  rec.requests = 0;
  rec.errors = [];
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined); // a reset after a rejection is an expected outcome
  socket.end(raw);
  await once(socket, 'close');
  // The server answers nothing itself, so any 4xx/5xx came from Node (bad request, missing Host).
  const reply = Buffer.concat(chunks).toString('latin1');
  const refused = /HTTP\/1\.1 [45]\d\d/.test(reply);
  return { rejected: rec.errors.length > 0 || refused, requests: rec.requests, detail: rec.errors.join(',') || reply.split('\r\n')[0] || 'ok' };
}

function tunnel(rec: Recorder) {
  return (_req: IncomingMessage, socket: Socket): void => {
    rec.requests++;
    socket.destroy();
  };
}

test('llhttp conformance: we reject whatever llhttp rejects', async (t) => {
  const rec: Recorder = { requests: 0, errors: [] };
  const server = createServer((req) => {
    rec.requests++;
    req.resume();
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    rec.errors.push(err.code ?? 'error');
    socket.destroy();
  });
  server.on('upgrade', tunnel(rec));
  server.on('connect', tunnel(rec));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const stricter: string[] = [];
  const laxer: string[] = [];
  const disagreements: string[] = [];
  try {
    for (const [name, text] of Object.entries(CASES)) {
      const raw = Buffer.from(text, 'latin1');
      const node = await llhttp(port, raw, rec);
      const mine = ours(raw);
      if (node.rejected && !mine.rejected) laxer.push(`${name}: llhttp ${node.detail}, ours ${mine.detail}`);
      if (!node.rejected && mine.rejected) stricter.push(name);
      if (!node.rejected && !mine.rejected && node.requests !== mine.requests) {
        disagreements.push(`${name}: llhttp saw ${node.requests} requests, we saw ${mine.requests}`);
      }
      if (!node.rejected && mine.rejected) t.diagnostic(`stricter: ${name} (${mine.detail}): ${STRICTER[name] ?? 'UNLISTED'}`);
    }
  } finally {
    server.close();
  }
  assert.deepEqual(laxer, [], 'cases llhttp rejects and we accept');
  assert.deepEqual(disagreements, [], 'both accept but split the bytes into different requests');
  assert.deepEqual(stricter.sort(), Object.keys(STRICTER).sort(), 'stricter cases must be listed with a reason');
});
