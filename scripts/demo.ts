/**
 * A guided demo: two sites of local backends behind a real outrigger process, steady traffic,
 * and backends killed and restarted so failover and failback happen in front of you.
 *   npm run demo         (after npm ci, which has built it; after editing: npm run build first)
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';

class DemoBackend {
  hits = 0;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;

  constructor(readonly name: string) {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/health') this.hits++;
      res.writeHead(200, { 'X-Backend': name }).end(name);
    });
    this.server.on('connection', (s: Socket) => { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); });
  }

  listen(port = this.port): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => {
      this.port = (this.server.address() as AddressInfo).port;
      resolve();
    }));
  }

  kill(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

/** Steps in bold on a terminal; plain text into a pipe or a file (and with NO_COLOR), where escapes are noise. */
const bold = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
const say = (s: string): void => { process.stdout.write(bold ? `\x1b[1m${s}\x1b[0m\n` : `${s}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const backends = ['east-1', 'east-2', 'west-1', 'west-2'].map((n) => new DemoBackend(n));
  for (const b of backends) await b.listen();
  const [e1, e2, w1, w2] = backends as [DemoBackend, DemoBackend, DemoBackend, DemoBackend];
  const east = `http://127.0.0.1:${e1.port},http://127.0.0.1:${e2.port}`;
  const west = `http://127.0.0.1:${w1.port},http://127.0.0.1:${w2.port}`;
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  const args = ['--address', '127.0.0.1:0', '--log', '--health-path', '/health', '--health-duration', '1s', east, west];
  say(`$ outrigger ${args.join(' ')}`);
  const proxy = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => {
    proxy.stdout.setEncoding('utf8').on('data', (s: string) => {
      for (const line of s.trimEnd().split('\n')) process.stdout.write(`  [outrigger] ${line}\n`);
      const m = /listening on http:\/\/\S+:(\d+)/.exec(s);
      if (m) resolve(Number(m[1]));
    });
  });

  let ok = 0;
  let failed = 0;
  let running = true;
  const agent = new http.Agent({ keepAlive: true });
  const worker = async (): Promise<void> => {
    while (running) {
      await new Promise<void>((done) => {
        http.get({ host: '127.0.0.1', port, path: '/object', agent }, (res) => {
          res.resume().once('end', () => { if (res.statusCode === 200) ok++; else failed++; done(); });
        }).once('error', () => { failed++; done(); });
      });
      await sleep(2);
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  const report = setInterval(() => {
    const by = backends.map((b) => `${b.name}=${b.hits}`).join(' ');
    process.stdout.write(`  requests ok=${ok} failed=${failed} | ${by}\n`);
  }, 1000);

  const steps: [number, string, () => Promise<void> | void][] = [
    [3000, 'Both sites are up: traffic goes to the first site (east) only.', () => {}],
    [3000, 'Killing east-1: its share moves to east-2; retries hide the failure from clients.', () => e1.kill()],
    [4000, 'Killing east-2: the east site is down, traffic fails over to west.', () => e2.kill()],
    [4000, 'Restarting east-1 and east-2: traffic fails back to east as soon as a check passes.', async () => { await e1.listen(); await e2.listen(); }],
    [4000, 'Done.', () => {}],
  ];
  for (const [wait, text, act] of steps) {
    say(text);
    await act();
    await sleep(wait);
  }
  running = false;
  clearInterval(report);
  await Promise.all(workers);
  say(`Summary: ${ok} requests answered 200, ${failed} failed.`);
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  for (const b of backends) b.kill();
  agent.destroy();
}

void main();
