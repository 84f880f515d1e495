import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from './support/outrigger.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** `--flag` → the default as `--help` prints it ("default: X, env: …"); flags with no default are absent. */
async function helpDefaults(): Promise<Map<string, string>> {
  const { stdout } = await runCli(['--help']);
  const out = new Map<string, string>();
  let flag: string | null = null;
  for (const line of stdout.split('\n')) {
    const f = /^\s+--([a-z0-9-]+)/.exec(line);
    if (f !== null) flag = f[1]!;
    const d = /^\s+default: (.*?)(?:, env: .*)?$/.exec(line);
    if (d !== null && flag !== null) out.set(flag, d[1]!);
  }
  return out;
}

/**
 * The same text whatever the quoting and articles: `size of the largest site` = "Size of the largest
 * site"; a README note in parentheses after the default ("off (`:7946` with `--join`)") is not part of it.
 */
const normal = (s: string): string => s.replace(/\s*\(.*\)\s*$/, '').replace(/[`"]/g, '').replace(/^the /i, '').trim().toLowerCase();

test('README\'s flag table and --help give every flag the same default', async () => {
  const help = await helpDefaults();
  let compared = 0;
  for (const line of README.split('\n')) {
    // Rows of one flag only (`--a`, `--b` rows list several defaults at once).
    const row = /^\| `--([a-z0-9-]+)(?:, -\w)?(?: [^`]*)?` \| ([^|]*) \|/.exec(line);
    if (row === null || row[2]!.trim() === '') continue;
    const shown = help.get(row[1]!);
    if (shown === undefined) continue;
    assert.equal(normal(row[2]!), normal(shown), `--${row[1]}: README says ${row[2]!.trim()}, --help says ${shown}`);
    compared++;
  }
  assert.ok(compared >= 15, `only ${compared} flags compared: has the table's format changed?`);
  assert.equal(help.get('max-retries'), 'size of the largest site');
});
