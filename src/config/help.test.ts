import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shortUsage, usageText } from './help.js';
import { OPTIONS } from './options.js';

describe('usageText', () => {
  const text = usageText();
  it('starts like sidekick', () => assert.match(text, /USAGE:\n {2}outrigger \[FLAGS\] SITE1 \[SITE2\.\.\]/));
  it('lists every option of the table with its env var', () => {
    for (const option of OPTIONS) {
      assert.ok(text.includes(`--${option.long}`), option.long);
      if (option.env !== undefined) assert.ok(text.includes(`$${option.env}`), option.env);
    }
  });
  it('shows defaults and short aliases', () => {
    assert.match(text, /--address, -a ADDR .*\n.*default: :8080, env: \$OUTRIGGER_ADDRESS/);
    assert.match(text, /--trace, -t\[=MODE\]/);
    assert.match(text, /default: 5s/);
  });
  it('explains SITEs and gives examples', () => {
    assert.match(text, /SITE:/);
    assert.match(text, /\{1\.\.\.4\}/);
    assert.match(text, /EXAMPLES:/);
  });
  it('keeps lines under 100 columns', () => {
    for (const line of text.split('\n')) assert.ok(line.length <= 100, line);
  });
});

describe('shortUsage', () => {
  it('points at --help', () => assert.match(shortUsage(), /outrigger --help/));
});
