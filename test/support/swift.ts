/**
 * A real S3 store for the cache tests: OpenStack Swift with its s3api middleware, started once per
 * test run by a detached keeper (swift-keeper.ts) and shared by every test file that asks for it.
 * Each caller gets its own bucket. Missing Swift binaries give `null` so the caller can skip.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { waitFor } from './wait.js';

export interface SwiftStore {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

const KEEPER = fileURLToPath(new URL('./swift-keeper.js', import.meta.url));
const NEEDED = ['/usr/bin/swift-proxy-server', '/usr/bin/swift-object-server', '/usr/bin/swift-container-server',
  '/usr/bin/swift-account-server', '/usr/bin/swift-ring-builder', '/usr/bin/memcached'];

/** Why Swift cannot run here, or undefined when it can. */
export function swiftMissing(): string | undefined {
  const missing = NEEDED.filter((path) => !existsSync(path));
  return missing.length === 0 ? undefined : `Swift is not installed (missing ${missing.join(', ')}); install swift-proxy swift-object swift-container swift-account memcached`;
}

/** One store directory per checkout, so two worktrees testing at once do not share buckets or teardown. */
function storeDir(): string {
  const id = createHash('sha256').update(KEEPER).digest('hex').slice(0, 12);
  return join(tmpdir(), `outrigger-swift-${id}`);
}

let shared: Promise<SwiftStore> | undefined;

/** The running shared store (started if needed); this process counts as a user until it exits. */
export function sharedSwift(): Promise<SwiftStore> {
  shared ??= attach();
  return shared;
}

async function attach(): Promise<SwiftStore> {
  const dir = storeDir();
  mkdirSync(join(dir, 'clients'), { recursive: true });
  const mark = join(dir, 'clients', String(process.pid));
  writeFileSync(mark, '');
  // Not node:test's after(): called from a hook it would run when that hook's suite ends. The
  // keeper also treats a mark whose process is gone as released.
  process.once('exit', () => rmSync(mark, { force: true }));
  await withLock(join(dir, '..', `${dir.split('/').pop()}.lock`), async () => {
    if (existsSync(join(dir, 'state.json')) && await answers(dir)) return;
    rmSync(join(dir, 'state.json'), { force: true });
    rmSync(join(dir, 'failed'), { force: true });
    const keeper = spawn(process.execPath, [KEEPER, dir], { detached: true, stdio: 'ignore' });
    keeper.unref();
    await waitFor(() => existsSync(join(dir, 'state.json')) || existsSync(join(dir, 'failed')), 150_000, 'Swift to start');
    if (existsSync(join(dir, 'failed'))) throw new Error(`Swift did not start; logs in ${dir}`);
  });
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { endpoint: string };
  return { endpoint: state.endpoint, accessKey: 'test:tester', secretKey: 'testing', region: 'us-east-1' };
}

async function answers(dir: string): Promise<boolean> {
  try {
    const { endpoint } = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { endpoint: string };
    // Bounded: a store that accepts but never answers must not hold the start lock (and every other test file) forever.
    return (await fetch(`${endpoint}/healthcheck`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    return false;
  }
}

/**
 * A directory as a lock between test processes, with the holder's PID inside: a lock whose holder
 * is gone (a test process killed mid-start) is broken at once, one older than the longest start
 * is taken as abandoned.
 */
async function withLock(path: string, work: () => Promise<void>): Promise<void> {
  await waitFor(() => {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return true;
    } catch {
      if (lockAbandoned(path)) rmSync(path, { recursive: true, force: true });
      return false;
    }
  }, 200_000, 'the Swift start lock', 100);
  try {
    await work();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

function lockAbandoned(path: string): boolean {
  try {
    if (Date.now() - statSync(path).mtimeMs > 180_000) return true;
    const pid = Number(readFileSync(join(path, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A fresh bucket name for one test file. */
export function uniqueBucket(prefix = 'cache'): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** An independent client of the store (the AWS SDK), for a test to check what it holds; `bucket` is created. */
export async function storeClient(swift: SwiftStore, bucket: string): Promise<S3Client> {
  const s3 = new S3Client({ endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey } });
  // A store that has just started may still answer 503 (SlowDown) for a while.
  await waitFor(() => s3.send(new CreateBucketCommand({ Bucket: bucket })).then(() => true, () => false), 60_000, 'the test bucket', 500);
  return s3;
}
