// Holds N idle keep-alive client connections open to a proxy, to measure what they cost it in
// memory. Each connection sends one GET and reads the whole response (so the proxy has set up
// its full per-connection state), then stays open and silent.
//
//   node dist/bench/idle-conns.js HOST:PORT N PATH MAX_HOLD_S
//
// Prints one JSON line {"ready":n,"failed":m} once every connection has its response, then
// answers each line read on stdin with {"open":k} (connections the proxy has not closed).
// Exits when stdin closes or after MAX_HOLD_S, whichever comes first: it never lingers.
import net from 'node:net';
import readline from 'node:readline';

const [addr = '127.0.0.1:19101', countArg = '1000', urlPath = '/small', holdArg = '60'] = process.argv.slice(2);
const host = addr.slice(0, addr.lastIndexOf(':'));
const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
const count = Number(countArg);
// Opening all at once would overflow a small listen backlog (node's is 511), and dropped SYNs
// are retried only after a second: open in batches instead.
const BATCH = 100;
const open = new Set<net.Socket>();

/** Connects, sends one request, resolves true when its response (Content-Length body) is read. */
function oneConnection(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!ok) sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 10_000);
    sock.once('connect', () => {
      open.add(sock);
      sock.write(`GET ${urlPath} HTTP/1.1\r\nHost: ${addr}\r\nConnection: keep-alive\r\n\r\n`);
    });
    sock.on('data', (chunk: Buffer) => {
      if (done) return; // the proxy should send nothing more; ignore it if it does
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
      if (!/^HTTP\/1\.1 200 /.test(head) || !Number.isFinite(length)) return finish(false);
      if (buf.length - end - 4 >= length) finish(true);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => {
      open.delete(sock);
      finish(false);
    });
  });
}

async function main(): Promise<void> {
  const hold = setTimeout(() => shutdown(), Number(holdArg) * 1000);
  let ready = 0;
  let failed = 0;
  for (let left = count; left > 0; left -= BATCH) {
    const oks = await Promise.all(Array.from({ length: Math.min(BATCH, left) }, oneConnection));
    for (const ok of oks) ok ? ready++ : failed++;
  }
  process.stdout.write(`${JSON.stringify({ ready, failed })}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', () => process.stdout.write(`${JSON.stringify({ open: open.size })}\n`));
  rl.on('close', () => shutdown());

  function shutdown(): void {
    clearTimeout(hold);
    for (const s of open) s.destroy();
    process.exit(0);
  }
}

void main();
