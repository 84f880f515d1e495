import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanArgv } from './argv.js';

const given = (argv: string[]): Record<string, readonly string[]> => Object.fromEntries(scanArgv(argv).given);

describe('scanArgv', () => {
  it('reads "--name value" and "--name=value"', () => {
    assert.deepEqual(given(['--address', ':9000', '--health-path=/x']), { address: [':9000'], healthPath: ['/x'] });
  });
  it('reads "-a value" and "-a=value"', () => {
    assert.deepEqual(given(['-a', ':9000', '-p=/x']), { address: [':9000'], healthPath: ['/x'] });
  });
  it('reads Go-style single-dash long names', () => {
    assert.deepEqual(given(['-address', ':9000', '-health-path=/x']), { address: [':9000'], healthPath: ['/x'] });
  });
  it('accepts a short alias after two dashes, as Go does', () => assert.deepEqual(given(['--a', ':1']), { address: [':1'] }));
  it('keeps a value that contains "="', () => assert.deepEqual(given(['--health-path=/a=b']), { healthPath: ['/a=b'] }));
  it('lets flags and SITEs interleave', () => {
    const scan = scanArgv(['s1', '-a', ':1', 's2', '-i', 's3']);
    assert.deepEqual(scan.positionals, ['s1', 's2', 's3']);
    assert.deepEqual(Object.fromEntries(scan.given), { address: [':1'], insecure: ['true'] });
  });
  it('treats everything after "--" as SITEs', () => {
    const scan = scanArgv(['-i', '--', '-a', 's1']);
    assert.deepEqual(scan.positionals, ['-a', 's1']);
    assert.deepEqual(Object.fromEntries(scan.given), { insecure: ['true'] });
  });
  it('treats a lone "-" as positional', () => assert.deepEqual(scanArgv(['-']).positionals, ['-']));
  it('never lets a bool take the next argument', () => {
    const scan = scanArgv(['--insecure', 'false']);
    assert.deepEqual(scan.positionals, ['false']);
    assert.deepEqual(Object.fromEntries(scan.given), { insecure: ['true'] });
  });
  it('passes "--insecure=false" to the parser', () => assert.deepEqual(given(['--insecure=false']), { insecure: ['false'] }));
  it('records every occurrence of a repeatable flag', () => {
    assert.deepEqual(given(['--status-code', '500', '--status-code=502']), { statusCodes: ['500', '502'] });
  });
  it('gives a bare --trace / -t the value "all"', () => {
    assert.deepEqual(given(['--trace']), { trace: ['all'] });
    assert.deepEqual(given(['-t', 'http://m:9000']), { trace: ['all'] });
    assert.deepEqual(scanArgv(['-t', 'http://m:9000']).positionals, ['http://m:9000']);
  });
  it('lets --trace take the next argument only when it is a trace mode', () => {
    assert.deepEqual(given(['--trace', 'minio']), { trace: ['minio'] });
    assert.deepEqual(given(['-t', 'application']), { trace: ['application'] });
    assert.deepEqual(given(['--trace=minio']), { trace: ['minio'] });
  });
  it('reports unknown flags as written', () => {
    assert.deepEqual(scanArgv(['--foo', '-bar=1', '-x']).errors, ['unknown flag --foo', 'unknown flag -bar', 'unknown flag -x']);
  });
  it('reports a missing value', () => assert.deepEqual(scanArgv(['-a']).errors, ['--address: missing value']));
  it('takes the next argument as a value even if it starts with "-", as Go does', () => {
    assert.deepEqual(given(['--health-path', '-x']), { healthPath: ['-x'] });
  });
  it('recognises help and version', () => {
    assert.equal(scanArgv(['-h']).help, true);
    assert.equal(scanArgv(['--help']).help, true);
    assert.equal(scanArgv(['-v']).version, true);
    assert.equal(scanArgv(['-version']).version, true);
    assert.deepEqual(scanArgv(['--help=1']).errors, ['--help: takes no value']);
  });
});
