import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBackends } from './support/backends.js';
import { startOutrigger } from './support/outrigger.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

test('a TLS handshake with a plain-HTTP backend is logged in words, not as OpenSSL\'s raw text', async () => {
  const [plain] = await startBackends(1);
  cleanup.track(plain!);
  const o = await startOutrigger(['--log', '--health-path', '/health', plain!.url.replace('http:', 'https:')]);
  cleanup.track(o);
  await o.output(/is down: /);
  const line = o.stdout.split('\n').find((l) => l.includes('is down: '))!;
  assert.match(line, /is down: TLS handshake failed: the backend does not speak TLS on this port \(an http:\/\/ backend listed as https:\/\/\?\)$/);
  assert.doesNotMatch(o.stdout, /ssl3_get_record|SSL routines|deps\/openssl|EPROTO/);
});

test('the demo prints no terminal escapes into a pipe, and runs to its summary', async () => {
  const demo = fileURLToPath(new URL('../scripts/demo.js', import.meta.url));
  const p = spawn(process.execPath, [demo], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add(async () => { if (p.exitCode === null) p.kill('SIGKILL'); });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => {
    // The last lines may still be in the pipe at 'exit'; 'close' comes once they are read.
    const timer = setTimeout(() => resolve(c), 2_000);
    p.once('close', () => { clearTimeout(timer); resolve(c); });
  }));
  assert.equal(code, 0, out);
  assert.match(out, /^Killing east-1: /m);
  assert.match(out, /^Summary: \d+ requests answered 200, \d+ failed\.$/m);
  assert.doesNotMatch(out, /\x1b/, 'escape sequences in piped output');
});
