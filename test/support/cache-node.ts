/** An Outrigger with the S3 cache on a test Swift store, and a client for it (the cache test files share these). */
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Fixtures } from './fixtures.js';
import type { Outrigger } from './outrigger.js';
import { ProtocolClient, startFor, type Protocol } from './protocols.js';
import type { SwiftStore } from './swift.js';

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
