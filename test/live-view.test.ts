import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startBackends, type TestBackend } from './support/backends.js';
import { MAIN } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { renderFrame, type FrameOptions } from '../src/observe/live-view.js';
import { UpstreamSet } from '../src/upstream/upstream-set.js';
import { parseCommandLine } from '../src/config/parse.js';
import type { Config } from '../src/config/types.js';
import type { Backend } from '../src/upstream/backend.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
after(async () => { for (const f of cleanup) await f(); });

function upstreamsFor(sites: string[]): UpstreamSet {
  const outcome = parseCommandLine(['-a', '127.0.0.1:1', ...sites], {});
  assert.equal(outcome.kind, 'config');
  const c = (outcome as { config: Config }).config;
  const u = new UpstreamSet(c.sites, c);
  cleanup.push(() => { for (const b of u.backends()) b.destroy(); });
  return u;
}

function set(b: Backend, status: 'up' | 'down'): void {
  b.health.probed = true;
  b.health.online = status === 'up';
}

const frame = (backends: readonly Backend[], o: Partial<FrameOptions> = {}): string[] =>
  renderFrame(backends, { width: 120, height: 30, now: Date.now(), title: 'Outrigger test', message: 'hello', color: false, ...o }).map((l) => l.text);

describe('renderFrame', () => {
  test('shows every backend of sites of different sizes, with their status', () => {
    const u = upstreamsFor(['http://a{1...3}:9000', 'http://b1:9000']);
    const [a1, a2, a3, b1] = u.backends() as [Backend, Backend, Backend, Backend];
    set(a1, 'up'); set(a2, 'down'); set(a3, 'up'); set(b1, 'up');
    a1.stats.requests = 12; a1.stats.errors = 1; a1.stats.rxBytes = 2048; a1.stats.recordLatency(3); a1.stats.recordLatency(5);
    const lines = frame(u.backends());
    assert.match(lines[0]!, /^Outrigger test · 2 sites · 4 backends: 3 up, 1 down/);
    assert.equal(lines[1], 'hello');
    assert.match(lines[2]!, /^SITE\s+BACKEND\s+STATUS\s+CALLS\s+FAILURES\s+RX\s+TX\s+DOWNTIME\s+LAST DOWN\s+LATENCY MIN\/AVG\/MAX\s+REASON$/);
    const rows = lines.slice(3).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((r) => r.slice(0, 3)), [
      ['1', 'http://a1:9000', 'up'], ['1', 'http://a2:9000', 'down'], ['1', 'http://a3:9000', 'up'], ['2', 'http://b1:9000', 'up'],
    ]);
    assert.deepEqual(rows[0]!.slice(3), ['12', '1', '2.0KiB', '0B', '-', '-', '3ms/4ms/5ms']);
  });

  test('says why a backend is down, on one line, cut at the edge of the screen rather than squeezing the URL', () => {
    const u = upstreamsFor(['http://a1:9000,http://a2:9000']);
    const [a1, a2] = u.backends() as [Backend, Backend];
    set(a1, 'up'); set(a2, 'down');
    a1.health.lastError = 'an old error of a backend now up';
    a2.health.lastError = 'TLS handshake failed:\nthe backend does not speak TLS on this port';
    const lines = frame(u.backends(), { width: 200 });
    const row = (url: string): string => lines.find((l) => l.includes(url))!;
    assert.match(row('http://a2:9000'), /\bdown\b.*\s{2}TLS handshake failed: the backend does not speak TLS on this port$/);
    assert.doesNotMatch(row('http://a1:9000'), /old error/);
    const narrow = frame(u.backends(), { width: 70 });
    assert.ok(narrow.every((l) => l.length <= 70));
    assert.match(narrow.find((l) => l.includes('http://a2:9000'))!, /down/);
  });

  test('fits hundreds of backends to the height: down ones first, the rest summed up', () => {
    const u = upstreamsFor(['http://h{1...300}:9000', 'http://g{1...12}:9000']);
    const all = u.backends();
    all.forEach((b, i) => set(b, i === 250 || i === 305 || i === 7 ? 'down' : 'up'));
    const lines = frame(all, { height: 20 });
    assert.equal(lines.length, 20);
    const rows = lines.slice(3, 19);
    assert.equal(rows.length, 16);
    const urls = rows.map((l) => l.trim().split(/\s+/)[1]);
    // Every down backend is visible, in configuration order among the others.
    for (const i of [7, 250, 305]) assert.ok(urls.includes(all[i]!.url), all[i]!.url);
    assert.deepEqual(urls.slice(0, 3), ['http://h1:9000', 'http://h2:9000', 'http://h3:9000']);
    assert.equal(lines[19], '… 296 more backends: 296 up, 0 down');
  });

  test('keeps down backends first even when they alone do not fit', () => {
    const u = upstreamsFor(['http://h{1...50}:9000']);
    u.backends().forEach((b, i) => set(b, i % 5 === 0 ? 'up' : 'down'));
    const lines = frame(u.backends(), { height: 8 });
    assert.equal(lines.length, 8);
    for (const l of lines.slice(3, 7)) assert.match(l, / down /);
    assert.equal(lines[7], '… 46 more backends: 10 up, 36 down');
  });

  test('never draws a line wider than the terminal', () => {
    const u = upstreamsFor(['https://a-very-long-host-name-for-a-backend-in-a-far-away-zone-{1...3}.example.com:9000']);
    u.backends().forEach((b) => set(b, 'up'));
    for (const width of [40, 60, 90, 200]) {
      const lines = frame(u.backends(), { width, height: 10 });
      for (const l of lines) assert.ok(l.length <= width, `${width}: ${l}`);
    }
    const rows = frame(u.backends(), { width: 90, height: 10 }).slice(3);
    // Shortened in the middle: the host's end and the port stay readable.
    assert.match(rows[0]!, /https:\/\/a-.*….*-1\.example\.com:9000\s+up/);
  });

  test('colours the status only, and counts only visible characters', () => {
    const u = upstreamsFor(['http://a1:9000,http://a2:9000']);
    const [a1, a2] = u.backends() as [Backend, Backend];
    set(a1, 'up'); set(a2, 'down');
    const lines = renderFrame(u.backends(), { width: 120, height: 10, now: Date.now(), title: 'T', message: '', color: true });
    assert.match(lines[3]!.text, /\x1b\[32mup\x1b\[0m/);
    assert.match(lines[4]!.text, /\x1b\[1;31mdown\x1b\[0m/);
    assert.equal(lines[4]!.width, lines[4]!.text.replace(/\x1b\[[\d;]*m/g, '').length);
  });
});

// ---- the real CLI on a pseudo-terminal -------------------------------------------------------

const tmuxMissing = spawnSync('tmux', ['-V']).error !== undefined;
const SKIP = tmuxMissing ? 'tmux is not installed (apt-get install -y tmux) — the terminal view test needs a pseudo-terminal' : false;

/** A tmux server of our own (its own socket), holding one detached session. */
class Tmux {
  readonly socket = `outrigger-test-${process.pid}-${Math.floor(Math.random() * 1e9)}`;

  run(...args: string[]): string {
    const r = spawnSync('tmux', ['-f', '/dev/null', '-L', this.socket, ...args], {
      encoding: 'utf8', env: { ...process.env, TERM: process.env['TERM'] ?? 'xterm' },
    });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** What the pane shows now; with `history`, the lines scrolled off the top as well. */
  screen(history = false): string {
    return this.run('capture-pane', '-p', ...(history ? ['-S', '-'] : []), '-t', 'main');
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The table row of a backend, split into its columns (site, backend, status, calls, ...). */
function row(screen: string, url: string): string[] | undefined {
  const line = screen.split('\n').find((l) => new RegExp(`\\s${url.replaceAll('.', '\\.')}\\s`).test(l));
  return line?.trim().split(/\s+/);
}

test('the live view on a terminal shows a backend going down', { skip: SKIP }, async () => {
  const backends = await startBackends(3, 'v');
  const [b1, b2, b3] = backends as [TestBackend, TestBackend, TestBackend];
  cleanup.push(...backends.map((b) => () => b.close()));
  const tmux = new Tmux();
  cleanup.push(() => tmux.kill());
  const command = ['exec', process.execPath, MAIN, '--address', '127.0.0.1:0', '--health-path', '/health', '--health-duration', '0.2',
    `${b1.url},${b2.url}`, b3.url].map((a, i) => (i === 0 ? a : shellQuote(a))).join(' ');
  tmux.run('new-session', '-d', '-s', 'main', '-x', '120', '-y', '30', command, ';', 'set-option', '-g', 'remain-on-exit', 'on');

  let screen = '';
  const until = async (what: string, check: (s: string) => boolean, timeoutMs = 10_000, history = false): Promise<void> => {
    try {
      await waitFor(() => check(screen = tmux.screen(history)), timeoutMs, what, 50);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the screen was:\n${screen}`);
    }
  };
  const status = (b: TestBackend): string | undefined => row(screen, b.url)?.[2];

  await until('every backend up', () => [b1, b2, b3].every((b) => status(b) === 'up') && /listening on http:\/\/127\.0\.0\.1:\d+/.test(screen));
  assert.match(screen, /^Outrigger \S+ · 2 sites · 3 backends: 3 up, 0 down/m);
  assert.deepEqual(row(screen, b3.url)!.slice(0, 1), ['2']);

  // Requests show up in the CALLS column of the first site.
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(screen)![1]);
  for (let i = 0; i < 6; i++) assert.equal((await request(`http://127.0.0.1:${port}/x`)).status, 200);
  await until('6 calls shown', () => Number(row(screen, b1.url)?.[3]) + Number(row(screen, b2.url)?.[3]) === 6);
  assert.equal(row(screen, b3.url)![3], '0');

  b2.healthy = false;
  await until('b2 down', () => status(b2) === 'down');
  assert.equal(status(b1), 'up');
  assert.equal(status(b3), 'up');
  assert.match(screen, /3 backends: 2 up, 1 down/);
  assert.notEqual(row(screen, b2.url)![7], '-', 'downtime shown');

  // A terminal too short for every row: the down backend stays visible, the rest are summed up.
  tmux.run('resize-window', '-t', 'main', '-x', '100', '-y', '5');
  await until('short layout', () => screen.includes('… 2 more backends: 2 up, 0 down'));
  assert.equal(status(b2), 'down', screen);
  assert.equal(row(screen, b1.url), undefined);

  // Taller again: every row is back.
  tmux.run('resize-window', '-t', 'main', '-x', '120', '-y', '30');
  await until('full layout', () => [b1, b3].every((b) => status(b) === 'up') && status(b2) === 'down' && !screen.includes('more backends'));

  // SIGTERM gives the terminal back: the table lived on the alternate screen, which never reaches the
  // scrollback, and the drain message is printed on the normal screen (tmux's "Pane is dead" line may
  // scroll it into the history, hence the capture with history).
  const pid = Number(tmux.run('display-message', '-p', '-t', 'main', '#{pane_pid}').trim());
  process.kill(pid, 'SIGTERM');
  // (pane_dead only: tmux 3.3 sometimes never fills in the exit status; the exit code is lifecycle.test's business.)
  const exited = (): boolean => tmux.run('display-message', '-p', '-t', 'main', '#{pane_dead}').trim() === '1';
  await until('exit and the terminal restored', () => exited() && /SIGTERM: draining/.test(screen) && !/STATUS|backends:/.test(screen), 10_000, true);
});
