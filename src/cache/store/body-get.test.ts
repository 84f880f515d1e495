/** Body reads on raw store connections, against a scripted HTTP server on 127.0.0.1 (each answer chosen by the test). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rawGet, requestHead } from './body-get.js';
import { StoreSockets } from './store-sockets.js';

/** What the server does with the next request on a connection. */
type Script = (socket: net.Socket) => void;

describe('store body reads on raw connections', () => {
  let server: net.Server;
  let sockets: StoreSockets;
  const scripts: Script[] = [];
  let connections = 0;
  const open = new Set<net.Socket>();

  before(async () => {
    server = net.createServer((socket) => {
      connections++;
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      let pending = '';
      socket.on('data', (data) => {
        pending += data.toString('latin1');
        while (pending.includes('\r\n\r\n')) {
          pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
          (scripts.shift() ?? ((s: net.Socket) => s.destroy()))(socket); // an unscripted request: the connection breaks
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sockets = new StoreSockets({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, secure: false });
  });

  after(async () => {
    sockets.destroy();
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const head = requestHead('GET', '/bucket/key', { host: 'store' });
  const ok = (body: string, extra = ''): Script => (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);

  it('streams a body and reuses the connection for the next read', async () => {
    const before = connections;
    scripts.push(ok('hello'), ok('world, in two writes'));
    const first = await rawGet(sockets, head);
    assert.equal(first.status, 200);
    assert.equal(Buffer.concat(await first.body!.toArray()).toString(), 'hello');
    const second = await rawGet(sockets, head);
    assert.equal(Buffer.concat(await second.body!.toArray()).toString(), 'world, in two writes');
    assert.equal(connections - before, 1, 'one connection for both reads');
  });

  it('gives an error answer as text (404 with an S3 error body), the connection still reusable', async () => {
    const before = connections;
    const xml = '<Error><Code>NoSuchKey</Code></Error>';
    scripts.push((s) => s.write(`HTTP/1.1 404 Not Found\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`), ok('after'));
    const answer = await rawGet(sockets, head);
    assert.equal(answer.status, 404);
    assert.equal(answer.body, null);
    assert.equal(answer.text, xml);
    assert.equal(Buffer.concat(await (await rawGet(sockets, head)).body!.toArray()).toString(), 'after');
    assert.equal(connections - before, 0);
  });

  it('fails a body cut short (never a clean end), and does not reuse its connection', async () => {
    scripts.push((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it');
      setImmediate(() => s.destroy());
    });
    const answer = await rawGet(sockets, head);
    await assert.rejects(answer.body!.toArray(), /closed 85 bytes before the end/);
    const before = connections;
    scripts.push(ok('next'));
    assert.equal(Buffer.concat(await (await rawGet(sockets, head)).body!.toArray()).toString(), 'next');
    assert.equal(connections - before, 1, 'a new connection');
  });

  it('tries a new connection when a reused one was closed by the store', async () => {
    scripts.push(ok('a'));
    await (await rawGet(sockets, head)).body!.toArray();
    scripts.push((s) => s.destroy(), ok('on a new connection'));
    const answer = await rawGet(sockets, head);
    assert.equal(Buffer.concat(await answer.body!.toArray()).toString(), 'on a new connection');
  });

  it('refuses a 200 without Content-Length, and a header value with a line break', async () => {
    scripts.push((s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'));
    await assert.rejects(rawGet(sockets, head), /without Content-Length/);
    assert.throws(() => requestHead('GET', '/b/k', { 'if-match': '"x"\r\nx-evil: 1' }), /line break/);
  });

  it('reuses the connection after a chunked error body (Swift answers every 404 so), not after one with bytes past its end', async () => {
    const before = connections;
    const xml = '<Error><Code>NoSuchKey</Code></Error>';
    const chunked404 = `HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n${xml.length.toString(16)}\r\n${xml}\r\n0\r\n\r\n`;
    scripts.push((s) => s.write(chunked404), ok('same connection'));
    assert.deepEqual([(await rawGet(sockets, head)).text, connections - before], [xml, 1]);
    const next = await rawGet(sockets, head);
    assert.equal(Buffer.concat(await next.body!.toArray()).toString(), 'same connection');
    assert.equal(connections - before, 1, 'the 404 left its connection reusable');
    // A body that ends in the middle of a read with more bytes behind it is out of step: not reused.
    scripts.push((s) => s.write(`${chunked404}HTTP/1.1 200 OK\r\n`), ok('fresh'));
    assert.equal((await rawGet(sockets, head)).text, xml);
    const fresh = await rawGet(sockets, head);
    assert.equal(Buffer.concat(await fresh.body!.toArray()).toString(), 'fresh');
    assert.equal(connections - before, 2, 'bytes past the end closed the connection');
  });

  it('reads an error body that is chunked, or that ends with the connection, for its S3 code', async () => {
    const xml = '<Error><Code>SignatureDoesNotMatch</Code></Error>';
    scripts.push((s) => s.write(`HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n${xml.slice(0, 16)}\r\n${(xml.length - 16).toString(16)}\r\n${xml.slice(16)}\r\n0\r\n\r\n`));
    const chunked = await rawGet(sockets, head);
    assert.deepEqual([chunked.status, chunked.body, chunked.text], [403, null, xml]);
    scripts.push((s) => s.end(`HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n${xml}`));
    const closed = await rawGet(sockets, head);
    assert.deepEqual([closed.status, closed.text], [500, xml]);
  });

  it('caps the connections in use: a read past the cap waits for one to be given back or closed', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const capped = new StoreSockets({ host: '127.0.0.1', port, secure: false }, 1);
    try {
      const first = await capped.take(false);
      let second: { socket: net.Socket; reused: boolean } | null = null;
      const waiting = capped.take(false).then((got) => (second = got));
      for (let i = 0; i < 5; i++) await new Promise(setImmediate);
      assert.equal(second, null, 'no second connection while the first is in use');
      assert.equal(capped.inUse, 1);
      capped.release(first.socket);
      await waiting;
      assert.equal(second!.socket, first.socket, 'the connection given back is the one taken next');
      const third = capped.take(false);
      second!.socket.destroy();
      const got = await third;
      assert.equal(got.reused, false, 'a closed connection frees its place for a new one');
      got.socket.destroy();
    } finally {
      capped.destroy();
    }
  });

  it('reads a zero-length body and many small writes exactly', async () => {
    scripts.push(ok(''), (s) => {
      s.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n');
      for (let i = 0; i < 100; i++) s.write('0123456789');
    });
    assert.deepEqual(await (await rawGet(sockets, head)).body!.toArray(), []);
    const answer = await rawGet(sockets, head);
    assert.equal(answer.status, 206);
    assert.equal(Buffer.concat(await answer.body!.toArray()).toString(), '0123456789'.repeat(100));
  });
});
