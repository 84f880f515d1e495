import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from './parse.js';
import { configOf, errorsOf } from './harness.js';
import type { Config } from './types.js';


describe('parseCommandLine', () => {
  it('builds a config with sidekick defaults from one SITE', () => {
    const c = configOf(parseCommandLine(['http://minio{1...4}:9000'], {}));
    assert.deepEqual(c.address, { host: '', port: 8080 });
    assert.equal(c.metricsAddress, undefined);
    assert.equal(c.healthPath, '/');
    assert.equal(c.readHealthPath, '/');
    assert.equal(c.healthPort, 0);
    assert.equal(c.healthDuration, 5000);
    assert.equal(c.healthTimeout, 2_000, 'a hung backend is found within about two probe intervals (issue 13.8)');
    assert.equal(c.shutdownTimeout, 30_000);
    assert.equal(c.healthOptimistic, false);
    assert.equal(c.healthRise, 1);
    assert.equal(c.healthFall, 1);
    assert.equal(c.hostBalance, 'least');
    assert.equal(c.maxRetries, undefined);
    assert.equal(c.trace, undefined);
    assert.deepEqual(c.statusCodes, []);
    assert.deepEqual([c.insecure, c.log, c.errors, c.quiet, c.json, c.debug], [false, false, false, false, false, false]);
    assert.deepEqual(c.siteArgs, ['http://minio{1...4}:9000']);
    assert.deepEqual(c.sites[0]?.backends.map((b) => b.url), ['http://minio1:9000', 'http://minio2:9000', 'http://minio3:9000', 'http://minio4:9000']);
  });

  it('fills every Config field (none left out of the option table)', () => {
    const c = configOf(parseCommandLine(['m:9000'], {}));
    const keys: Array<keyof Config> = ['address', 'metricsAddress', 'healthPath', 'readHealthPath', 'healthPort', 'healthDuration', 'healthTimeout',
      'healthOptimistic', 'healthRise', 'healthFall', 'insecure', 'hostBalance', 'maxRetries', 'shutdownTimeout', 'connectTimeout', 'responseTimeout', 'readTimeout', 'headerTimeout', 'idleTimeout', 'workers', 'log', 'trace',
      'errors', 'statusCodes', 'quiet', 'json', 'debug', 'debugRaw', 'sites', 'siteArgs',
      'dnsTtl', 'rrDnsMode', 'dnsServers', 'sitesFile',
      'cert', 'key', 'autoTlsHosts', 'tlsMax', 'cacert', 'clientCert', 'clientKey',
      'cacheEndpoint', 'cacheAccessKey', 'cacheSecretKey', 'cacheBucket', 'cacheRegion', 'cachePrefix', 'cacheMinSize',
      'cacheHealthDuration', 'cacheMemory', 'cacheReadAhead', 'cacheServeStaleOnError', 'cachePassTtl', 'cacheIndex', 'cacheIndexMax', 'cacheLookupTimeout',
      'cacheQuickAbortMin', 'cacheQuickAbortMax', 'cacheQuickAbortPct',
      'gossipBind', 'gossipAdvertise', 'join', 'clusterName', 'nodeName', 'gossipKeys', 'gossipProfile',
      'apiAddress', 'services', 'staticConfigFile', 'listenerUrls', 'serviceCheckInterval', 'docker', 'dockerSocket', 'serviceListeners',
      'hashKey', 'hashBalanceFactor', 'stickyCookie', 'split', 'rateLimit', 'maxConnsPerClient', 'outlier5xx', 'outlierGateway',
      'outlierSuccessRate', 'outlierInterval', 'outlierEjection', 'outlierMaxEjection', 'outlierMaxShare', 'mirror', 'mirrorSample', 'mirrorBodyLimit'];
    assert.deepEqual(Object.keys(c).sort(), [...keys].sort());
  });

  it('reads the DNS options: --dns-ttl, --rr-dns-mode, --dns-server (repeatable, comma lists)', () => {
    const d = configOf(parseCommandLine(['m:9000'], {}));
    assert.deepEqual([d.dnsTtl, d.rrDnsMode, d.dnsServers], [600_000, false, []]);
    const c = configOf(parseCommandLine(['--dns-ttl', '30s', '--rr-dns-mode', '--dns-server', '127.0.0.1:5353,10.0.0.1', '--dns-server=[::1]', 'm:9000'], {}));
    assert.deepEqual([c.dnsTtl, c.rrDnsMode, c.dnsServers], [30_000, true, [['127.0.0.1:5353', '10.0.0.1:53'], ['[::1]:53']]]);
    assert.deepEqual(configOf(parseCommandLine(['m:9000'], { OUTRIGGER_DNS_SERVER: '10.0.0.1,10.0.0.2:54' })).dnsServers, [['10.0.0.1:53'], ['10.0.0.2:54']]);
    assert.deepEqual(errorsOf(parseCommandLine(['--dns-server', 'dns.example', '--dns-ttl', '0', 'm:9000'], {})), [
      '--dns-ttl: "0" must be greater than 0', '--dns-server: "dns.example" is not an IP address (with an optional :port)']);
  });

  it('reads the TLS options (files are read at start, not here)', () => {
    const d = configOf(parseCommandLine(['m:9000'], {}));
    assert.deepEqual([d.cert, d.key, d.autoTlsHosts, d.tlsMax, d.cacert, d.clientCert, d.clientKey],
      [undefined, undefined, undefined, '1.3', undefined, undefined, undefined]);
    const c = configOf(parseCommandLine(['--cert', 'a b.crt', '--key=k.pem', '--auto-tls-host', 'localhost, 127.0.0.1,[::1],localhost',
      '--tls-max', '1.2', '--cacert', 'ca.pem', '--client-cert', 'c.pem', '--client-key', 'ck.pem', 'm:9000'], {}));
    assert.deepEqual([c.cert, c.key, c.autoTlsHosts, c.tlsMax, c.cacert, c.clientCert, c.clientKey],
      ['a b.crt', 'k.pem', ['localhost', '127.0.0.1', '::1'], '1.2', 'ca.pem', 'c.pem', 'ck.pem']);
    assert.deepEqual(configOf(parseCommandLine(['m:9000'], { OUTRIGGER_AUTO_TLS_HOST: 'h1,10.0.0.1', OUTRIGGER_TLS_MAX: '1.2' })).autoTlsHosts, ['h1', '10.0.0.1']);
    assert.deepEqual(errorsOf(parseCommandLine(['--tls-max', '1.1', '--auto-tls-host', ',', '--cert', '', 'm:9000'], {})), [
      '--cert: needs a file name', '--auto-tls-host: needs at least one host name or IP address (h1,ip2,...)', '--tls-max: "1.1" must be one of 1.2, 1.3']);
  });

  it('returns a deep-frozen config', () => {
    const c = configOf(parseCommandLine(['m:9000', 'n:9000'], {}));
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.address));
    assert.ok(Object.isFrozen(c.sites));
    assert.ok(Object.isFrozen(c.sites[1]?.backends[0]));
    assert.ok(Object.isFrozen(c.siteArgs));
  });

  it('reads every flag syntax, interleaved with SITEs, and "--"', () => {
    const c = configOf(parseCommandLine(
      ['a:9000', '--address', ':9001', '-p=/ready', '-health-duration', '2', 'b:9000', '-health-timeout=500ms', '-i', '--', 'c:9000'], {}));
    assert.deepEqual(c.address, { host: '', port: 9001 });
    assert.equal(c.healthPath, '/ready');
    assert.equal(c.readHealthPath, '/ready');
    assert.equal(c.healthDuration, 2000);
    assert.equal(c.healthTimeout, 500);
    assert.equal(c.insecure, true);
    assert.deepEqual(c.siteArgs, ['a:9000', 'b:9000', 'c:9000']);
  });

  it('reads --metrics-address as a listen address', () => {
    assert.deepEqual(configOf(parseCommandLine(['--metrics-address', '127.0.0.1:9100', 'm:9000'], {})).metricsAddress, { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(configOf(parseCommandLine(['m:9000'], { OUTRIGGER_METRICS_ADDRESS: ':9100' })).metricsAddress, { host: '', port: 9100 });
    assert.match(errorsOf(parseCommandLine(['--metrics-address', '9100', 'm:9000'], {})).join(), /--metrics-address: "9100" has no port/);
  });

  it('reads the optional trace value and repeatable status codes', () => {
    assert.equal(configOf(parseCommandLine(['-t', 'm:9000'], {})).trace, 'all');
    assert.equal(configOf(parseCommandLine(['--trace', 'minio', 'm:9000'], {})).trace, 'minio');
    assert.equal(configOf(parseCommandLine(['-t=application', 'm:9000'], {})).trace, 'application');
    assert.deepEqual(configOf(parseCommandLine(['--status-code', '500', 'm:9000', '--status-code', '502'], {})).statusCodes, [500, 502]);
  });

  it('reads env vars, with the command line winning', () => {
    const env = { OUTRIGGER_ADDRESS: '127.0.0.1:0', OUTRIGGER_HEALTH_DURATION: '1m30s', OUTRIGGER_LOG: 'on', OUTRIGGER_HOST_BALANCE: 'random' };
    const c = configOf(parseCommandLine(['--host-balance', 'round-robin', 'm:9000'], env));
    assert.deepEqual(c.address, { host: '127.0.0.1', port: 0 });
    assert.equal(c.healthDuration, 90_000);
    assert.equal(c.log, true);
    assert.equal(c.hostBalance, 'round-robin');
  });

  it('takes SITEs from OUTRIGGER_SITES only when none is given', () => {
    assert.deepEqual(configOf(parseCommandLine([], { OUTRIGGER_SITES: ' a:9000,b:9000   c:9000 ' })).siteArgs, ['a:9000,b:9000', 'c:9000']);
    assert.deepEqual(configOf(parseCommandLine(['d:9000'], { OUTRIGGER_SITES: 'c:9000' })).siteArgs, ['d:9000']);
  });

  it('reports "no SITE given" with the full help', () => {
    const outcome = parseCommandLine(['-i'], {});
    assert.deepEqual(errorsOf(outcome), ['no SITE given (pass one or more, set OUTRIGGER_SITES, or use --sites-file)']);
    assert.ok(outcome.kind === 'error' && outcome.usage.includes('FLAGS:'));
  });

  it('reports every problem together, one message each, naming the argument', () => {
    const outcome = parseCommandLine(
      ['--health-duration', 'abc', '--foo', '--address', ':70000', 'ftp://x', 'a:9000,a:9000', '-a'],
      { OUTRIGGER_HOST_BALANCE: 'x' });
    assert.deepEqual(errorsOf(outcome), [
      'unknown flag --foo',
      '--address: missing value',
      '--address: port 70000 is out of range 0..65535',
      '--health-duration: "abc" is not a duration (use 5, 5s, 500ms or 1m)',
      'OUTRIGGER_HOST_BALANCE: "x" must be one of least, random, round-robin, hash',
      'site 1 "ftp://x": scheme "ftp" is not supported (use http or https)',
      'site 2 "a:9000,a:9000": http://a:9000 is listed twice in this site',
    ]);
    assert.ok(outcome.kind === 'error' && !outcome.usage.includes('FLAGS:') && outcome.usage.includes('USAGE:'));
  });

  it('rejects a SITE that is its own listen address', () => {
    assert.match(errorsOf(parseCommandLine(['-a', '127.0.0.1:9000', 'localhost:9000'], {})).join(), /own listen address/);
  });

  it('skips the loop check when the address itself is bad', () => {
    assert.deepEqual(errorsOf(parseCommandLine(['-a', 'nope', 'localhost:8080'], {})), ['--address: "nope" has no port (use :8080 or host:8080)']);
  });

  it('answers --help and --version even among errors', () => {
    const help = parseCommandLine(['--foo', '-h'], {});
    assert.equal(help.kind, 'help');
    assert.ok(help.kind === 'help' && help.text.includes('USAGE:'));
    assert.deepEqual(parseCommandLine(['-v'], {}), { kind: 'version' });
  });

  it('never throws for odd input', () => {
    for (const argv of [['='], ['--='], ['-'], ['{'], ['--trace='], ['http://'], ['[::1'], ['-a=[::1]:x', '}{']]) {
      assert.doesNotThrow(() => parseCommandLine(argv, {}), JSON.stringify(argv));
    }
  });
});
