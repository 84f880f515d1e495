/**
 * What the cache test files share: a test bed (the shared Swift store, a bucket of the file's own,
 * its origin), the CLI flags of a cache on it, and an Outrigger started with them and a client for it.
 */
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Handler, TestBackend } from './backends.js';
import type { Fixtures } from './fixtures.js';
import type { Outrigger } from './outrigger.js';
import { ProtocolClient, startFor, type Protocol } from './protocols.js';
import { sharedSwift, storeClient, uniqueBucket, type SwiftStore } from './swift.js';

/** A cache test file's store, bucket and origin (cacheBed). */
export interface CacheBed {
  readonly swift: SwiftStore;
  readonly bucket: string;
  /** A client of the store, for tests that look at the bucket (stopped by the Fixtures). */
  readonly s3: S3Client;
  readonly backend: TestBackend;
  /** cacheArgs for this bucket in front of this backend; `endpoint`: the store reached another way (a relay). */
  args(extra?: readonly string[], endpoint?: string): string[];
}

/**
 * The shared Swift store (started if needed), a new bucket named after `name`, and an origin
 * `backendName` answering with `handler`; all stopped by `fx`.
 */
export async function cacheBed(fx: Fixtures, name: string, handler: Handler, backendName = 'origin'): Promise<CacheBed> {
  const swift = await sharedSwift();
  const bucket = uniqueBucket(name);
  const s3 = await storeClient(swift, bucket);
  fx.add(async () => s3.destroy());
  const backend = await fx.backendOf(backendName, handler);
  const args = (extra: readonly string[] = [], endpoint = swift.endpoint): string[] => cacheArgs({ ...swift, endpoint }, bucket, backend.url, extra);
  return { swift, bucket, s3, backend, args };
}

/**
 * The flags for a cache in `bucket` of `swift` in front of `origin`. A generous probe timeout: the
 * test process also hashes large bodies, which stalls its backends' health answers.
 */
export function cacheArgs(swift: SwiftStore, bucket: string, origin: string, extra: readonly string[] = []): string[] {
  return ['--health-path', '/health', '--health-duration', '1s', '--health-timeout', '30s', '--cache-endpoint', swift.endpoint,
    '--cache-access-key', swift.accessKey, '--cache-secret-key', swift.secretKey, '--cache-bucket', bucket,
    '--cache-min-size', '0', '--cache-health-duration', '1s', ...extra, origin];
}

/** Starts Outrigger with `args`, waits until its cache store is up, and opens a client (both stopped by `fx`). */
export async function startCacheNode(fx: Fixtures, protocol: Protocol, args: readonly string[]): Promise<{ o: Outrigger; client: ProtocolClient }> {
  const o = await startFor(protocol, args, (started) => fx.track(started));
  if (process.env.CACHE_TEST_DEBUG !== undefined) fx.add(async () => { process.stderr.write(`--- ${protocol} outrigger\n${o.stdout}\n${o.stderr}\n`); });
  await o.output(/cache store .* is up/, 30_000);
  const client = ProtocolClient.open(protocol, o);
  fx.add(async () => client.close());
  return { o, client };
}

/** Multipart uploads still open in `bucket` (an abandoned fill must leave none). */
export async function openUploads(s3: S3Client, bucket: string): Promise<number> {
  return (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0;
}
