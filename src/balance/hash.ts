/**
 * A fast, well-spread 32-bit string hash for placing keys and backends: FNV-1a over UTF-16 code
 * units, finished with murmur3's fmix32 (FNV alone leaves nearby keys such as "user1", "user2"
 * close together in the high bits). Not for anything an attacker may choose to collide on
 * purpose beyond skewing which backend gets a key (bounded loads cap what that can do).
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's finaliser: every input bit affects every output bit. */
export function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of a backend's identity: stable across restarts and across Outrigger instances. */
export function backendId(url: string): string {
  return hash32(url, 0x5eed).toString(36);
}
