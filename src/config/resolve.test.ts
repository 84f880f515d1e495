import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanArgv } from './argv.js';
import { resolveOptions } from './resolve.js';

const resolve = (argv: string[], env: Record<string, string> = {}) => resolveOptions(scanArgv(argv).given, env);

describe('resolveOptions', () => {
  it('uses defaults when nothing is given', () => {
    const { values, errors } = resolve([]);
    assert.deepEqual(errors, []);
    assert.deepEqual(values.get('address'), { host: '', port: 8080 });
    assert.equal(values.get('healthDuration'), 5000);
    assert.equal(values.get('healthTimeout'), 2_000);
    assert.equal(values.get('shutdownTimeout'), 30_000);
    assert.equal(values.get('hostBalance'), 'least');
    assert.equal(values.get('maxRetries'), undefined);
    assert.equal(values.get('trace'), undefined);
    assert.deepEqual(values.get('statusCodes'), []);
  });
  it('reads env vars', () => {
    const { values, errors } = resolve([], { OUTRIGGER_HEALTH_PATH: '/ready', OUTRIGGER_HOST_BALANCE: 'random', OUTRIGGER_TRACE: 'minio' });
    assert.deepEqual(errors, []);
    assert.equal(values.get('healthPath'), '/ready');
    assert.equal(values.get('hostBalance'), 'random');
    assert.equal(values.get('trace'), 'minio');
  });
  it('lets the command line win over env', () => {
    const { values } = resolve(['--host-balance', 'random'], { OUTRIGGER_HOST_BALANCE: 'round-robin' });
    assert.equal(values.get('hostBalance'), 'random');
  });
  it('ignores an empty env var', () => assert.equal(resolve([], { OUTRIGGER_HEALTH_PATH: '' }).values.get('healthPath'), '/'));
  it('accepts env bools as true/false/1/0/yes/no/on/off', () => {
    for (const [text, value] of [['yes', true], ['on', true], ['1', true], ['no', false], ['off', false], ['0', false]] as const) {
      assert.equal(resolve([], { OUTRIGGER_INSECURE: text }).values.get('insecure'), value, text);
    }
  });
  it('lets "--insecure=false" override a true env var', () => {
    assert.equal(resolve(['--insecure=false'], { OUTRIGGER_INSECURE: 'true' }).values.get('insecure'), false);
  });
  it('splits a repeatable env var on commas', () => {
    assert.deepEqual(resolve([], { OUTRIGGER_STATUS_CODE: '500, 502,503' }).values.get('statusCodes'), [500, 502, 503]);
  });
  it('uses only the command line for a repeatable flag given there', () => {
    assert.deepEqual(resolve(['--status-code', '404'], { OUTRIGGER_STATUS_CODE: '500' }).values.get('statusCodes'), [404]);
  });
  it('lets the last of a repeated single-valued flag win', () => {
    assert.deepEqual(resolve(['-a', ':1', '-a', ':2']).values.get('address'), { host: '', port: 2 });
  });
  it('defaults the read health path to the health path', () => {
    assert.equal(resolve(['-p', '/minio/health/ready']).values.get('readHealthPath'), '/minio/health/ready');
    assert.equal(resolve(['-p', '/a', '-r', '/b']).values.get('readHealthPath'), '/b');
    assert.equal(resolve([], { OUTRIGGER_HEALTH_PATH: '/env' }).values.get('readHealthPath'), '/env');
    assert.equal(resolve(['-p', '/a'], { OUTRIGGER_READ_HEALTH_PATH: '/r' }).values.get('readHealthPath'), '/r');
  });
  it('names the flag or env var in each error and marks the option failed', () => {
    const { errors, failed } = resolve(['--status-code', '99', '--status-code', '600'], { OUTRIGGER_HEALTH_RISE: '0' });
    assert.deepEqual(errors, [
      'OUTRIGGER_HEALTH_RISE: 0 is too small (minimum 1)',
      '--status-code: 99 is out of range 100..599',
      '--status-code: 600 is out of range 100..599',
    ]);
    assert.deepEqual([...failed].sort(), ['healthRise', 'statusCodes']);
  });
  it('parses every numeric option with its bounds', () => {
    const { values, errors } = resolve(['--health-port', '9001', '--health-rise', '3', '--health-fall', '2', '--max-retries', '0']);
    assert.deepEqual(errors, []);
    assert.deepEqual([values.get('healthPort'), values.get('healthRise'), values.get('healthFall'), values.get('maxRetries')], [9001, 3, 2, 0]);
    assert.deepEqual(resolve(['--health-port', '65536', '--max-retries', '-1']).errors, [
      '--health-port: 65536 is out of range 0..65535',
      '--max-retries: "-1" is not a whole number',
    ]);
  });
});
