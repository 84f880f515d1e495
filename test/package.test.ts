import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBackends } from './support/backends.js';
import { Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { Cleanup } from './support/cleanup.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cleanup = new Cleanup();
const scratch = await mkdtemp(path.join(tmpdir(), 'outrigger-pack-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** What `npm pack` would put in the package file (without running prepare: dist/ is already built). */
async function packedFiles(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  return (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
}

/** Every relative module a JS file imports, statically or with import('…') of a literal. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => path.posix.join(path.posix.dirname(file), s));
}

test('npm pack ships what runs and nothing else: no tests, no benchmarks, no source maps', async () => {
  const files = await packedFiles();
  const shipped = new Set(files);
  assert.ok(shipped.has('dist/src/main.js') && shipped.has('package.json') && shipped.has('README.md'));
  const stray = files.filter((f) => /\.test\.js$|\.map$|\.ts$|(^|\/)(test|bench|scripts)\/|harness|bench|measure/.test(f));
  assert.deepEqual(stray, [], 'files that do not run');
  // Everything the command can load is in the package (main.js and what it imports, transitively).
  const seen = new Set<string>();
  const todo = ['dist/src/main.js'];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    assert.ok(shipped.has(f), `${f} is loaded by the command but not packed`);
    todo.push(...await importsOf(f));
  }
  assert.ok(seen.size > 20, `only ${seen.size} modules reached: is the import scan broken?`);
});

test('the packed command runs outside the repository', async () => {
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT });
  const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  await run('tar', ['-xzf', path.join(scratch, `outrigger-${version}.tgz`), '-C', scratch]);
  // The runtime dependencies as `npm install` would provide them (no registry in tests): this checkout's.
  await symlink(path.join(ROOT, 'node_modules'), path.join(scratch, 'package', 'node_modules'));
  const main = path.join(scratch, 'package', 'dist', 'src', 'main.js');
  const v = await run(process.execPath, [main, '--version'], { cwd: scratch });
  assert.equal(v.stdout, `outrigger version ${version}\n`);
  // A real run, with --json so that the lazily loaded logger is exercised too.
  const [backend] = await startBackends(1);
  cleanup.track(backend!);
  const o = new Outrigger(['--json', '--health-path', '/health', backend!.url], {}, { main, cwd: scratch });
  cleanup.track(o);
  await o.ready(30_000);
  const r = await request(`${o.base}/x`);
  assert.equal(r.status, 200);
  assert.equal(r.text, 'b1');
});

test('the README\'s quick start does not use npx (it rebuilt the package into npm\'s cache and failed outside the repository)', async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  assert.doesNotMatch(quickStart, /npx outrigger/);
  assert.match(quickStart, /npm link/);
});

test('npm run demo does not build a second time (npm ci has built it)', async () => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts['prepare']!, /build|tsc/);
  assert.doesNotMatch(pkg.scripts['demo']!, /build|tsc/);
});
