import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('npm run bench says which Debian packages it will install before it installs any', async () => {
  // A PATH where none of the tools exist: the plan must name every package, and install nothing.
  const bin = await mkdtemp(path.join(tmpdir(), 'outrigger-bench-path-'));
  try {
    await symlink('/usr/bin/dirname', path.join(bin, 'dirname'));
    const { stdout } = await run('/bin/bash', [path.join(ROOT, 'bench', 'setup.sh'), '--plan'], { env: { PATH: bin } });
    assert.match(stdout, /^npm run bench will install Debian packages with apt-get \(as root\): .*\bnginx-light\b.*\bhaproxy\b.*\bwrk\b/m);
    assert.match(stdout, /BENCH_NO_INSTALL=1/);
    const none = await run('/bin/bash', [path.join(ROOT, 'bench', 'setup.sh'), '--plan'], { env: { PATH: bin, BENCH_NO_INSTALL: '1' } });
    assert.match(none.stdout, /nothing will be installed/);
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
  // run.sh prints that plan first, before the step that installs.
  const runSh = await readFile(path.join(ROOT, 'bench', 'run.sh'), 'utf8');
  const plan = runSh.indexOf('bench/setup.sh" --plan');
  const install = runSh.search(/bench\/setup\.sh"\s*$/m);
  assert.ok(plan >= 0 && install > plan, 'run.sh runs setup.sh --plan before setup.sh');
});
