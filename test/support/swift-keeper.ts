/**
 * A detached process that runs one OpenStack Swift (s3api) store for the cache tests and stops it
 * once no test process uses it any more. Several test files (separate node processes under
 * `node --test`) share it, so Swift's ~20 s start is paid once per run.
 *
 * Usage: node swift-keeper.js DIR   (DIR/clients/<pid> files name the users; DIR/state.json is
 * written when the store answers, DIR/failed when it cannot start).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const dir = process.argv[2] ?? '';
const USER = userInfo().username;
const etc = join(dir, 'etc');
const devices = join(dir, 'srv');
const children: ChildProcess[] = [];

/** Ports the kernel hands out now; a tiny race with other programs is acceptable for a test store. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function serverConf(name: string, port: number): string {
  return `[DEFAULT]\nuser = ${USER}\nbind_ip = 127.0.0.1\nbind_port = ${port}\nworkers = 0\n`
    + `swift_dir = ${etc}\ndevices = ${devices}\nmount_check = false\nlog_level = WARNING\n`
    + `[pipeline:main]\npipeline = ${name}-server\n[app:${name}-server]\nuse = egg:swift#${name}\n`;
}

function proxyConf(port: number, memcachePort: number): string {
  // Section name as the pipeline spells it -> the egg entry point.
  const filters = [['catch_errors', 'catch_errors'], ['gatekeeper', 'gatekeeper'], ['healthcheck', 'healthcheck'],
    ['proxy-logging', 'proxy_logging'], ['listing_formats', 'listing_formats'], ['copy', 'copy'], ['slo', 'slo'], ['dlo', 'dlo']];
  return `[DEFAULT]\nuser = ${USER}\nbind_ip = 127.0.0.1\nbind_port = ${port}\nworkers = 0\nswift_dir = ${etc}\nlog_level = WARNING\n`
    + '[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server\n'
    + '[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n'
    + '[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n'
    + '[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n'
    + `[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:${memcachePort}\n`
    + filters.map(([section, egg]) => `[filter:${section}]\nuse = egg:swift#${egg}\n`).join('');
}

function buildRing(name: string, port: number): void {
  const builder = join(etc, `${name}.builder`);
  execFileSync('swift-ring-builder', [builder, 'create', '8', '1', '1'], { stdio: 'ignore' });
  execFileSync('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${port}/sdb1`, '100'], { stdio: 'ignore' });
  try { execFileSync('swift-ring-builder', [builder, 'rebalance'], { stdio: 'ignore' }); } catch { /* exit 1 = warnings only */ }
}

function run(command: string, args: string[], log: string): void {
  const fd = openSync(join(dir, `${log}.log`), 'a');
  children.push(spawn(command, args, { stdio: ['ignore', fd, fd] }));
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthcheck`);
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The proxy answers /healthcheck before the account and container servers listen (their Python
 * start is slow on a loaded machine): until a container PUT works, S3 calls get 503 SlowDown.
 */
async function takesWrites(port: number): Promise<boolean> {
  try {
    const auth = await fetch(`http://127.0.0.1:${port}/auth/v1.0`, { headers: { 'X-Storage-User': 'test:tester', 'X-Storage-Pass': 'testing' } });
    const token = auth.headers.get('x-auth-token');
    const storage = auth.headers.get('x-storage-url');
    if (!auth.ok || token === null || storage === null) return false;
    const put = await fetch(`${storage}/keeper-probe`, { method: 'PUT', headers: { 'X-Auth-Token': token } });
    return put.status === 201 || put.status === 202;
  } catch {
    return false;
  }
}

function clientsAlive(): boolean {
  let names: string[] = [];
  try { names = readdirSync(join(dir, 'clients')); } catch { return false; }
  return names.some((name) => {
    try { process.kill(Number(name), 0); return true; } catch { return false; }
  });
}

function stopAll(): never {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

async function main(): Promise<void> {
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(devices, 'sdb1'), { recursive: true });
  const [proxy, object, container, account, memcache] = await freePorts(5) as [number, number, number, number, number];
  const servers: Array<[string, number]> = [['object', object], ['container', container], ['account', account]];
  for (const [name, port] of servers) {
    buildRing(name, port);
    writeFileSync(join(etc, `${name}-server.conf`), serverConf(name, port));
  }
  writeFileSync(join(etc, 'proxy-server.conf'), proxyConf(proxy, memcache));
  run('memcached', ['-l', '127.0.0.1', '-p', String(memcache), '-U', '0', '-m', '32', '-u', USER], 'memcached');
  for (const [name] of [...servers, ['proxy', proxy] as [string, number]]) run(`swift-${name}-server`, [join(etc, `${name}-server.conf`)], name);
  const deadline = Date.now() + 120_000;
  while (!(await healthy(proxy) && await takesWrites(proxy))) {
    if (Date.now() > deadline || children.some((c) => c.exitCode !== null)) {
      writeFileSync(join(dir, 'failed'), 'swift did not come up; see the logs in this directory\n');
      for (const child of children) child.kill('SIGKILL');
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // Written aside and renamed: a reader never sees a half-written file.
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify({ endpoint: `http://127.0.0.1:${proxy}`, keeper: process.pid }));
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
  // Stop when no user has been alive for a few seconds (a test file may start just after another ends).
  let idle = 0;
  setInterval(() => {
    idle = clientsAlive() ? 0 : idle + 1;
    if (idle >= 5 && !stopIfUnused()) idle = 0;
  }, 1000);
}

/**
 * Stops, under the lock clients hold while they attach (swift.ts), so a client attaching right
 * now either is seen here or finds no store and starts another; without it, a client could be
 * handed the endpoint of a store being stopped. False when the store is still wanted.
 */
function stopIfUnused(): boolean {
  const lock = `${dir.replace(/\/+$/, '')}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    return false;
  }
  if (clientsAlive()) {
    rmdirSync(lock);
    return false;
  }
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmdirSync(lock);
  process.exit(0);
}

// `node --test dist/` loads every file, this one included: without a directory it is not the keeper.
if (process.argv[2] !== undefined) {
  process.on('SIGTERM', stopAll);
  void main();
}
