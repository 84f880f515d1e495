/** Addresses on the wire are Go net.IP: 4 raw bytes, or 16 (IPv6 or IPv4-mapped, §3.4). */
import { isIPv4, isIPv6 } from 'node:net';

export function ipToBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new TypeError(`not an IP address: ${ip}`);
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex words first.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const text = v4 === null ? ip : ip.slice(0, v4.index)
    + [[v4[1], v4[2]], [v4[3], v4[4]]].map(([a, b]) => ((Number(a) << 8) | Number(b)).toString(16)).join(':');
  const [head = '', tail] = text.split('::');
  const words = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const h = words(head);
  const t = words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

export function bytesToIp(b: Uint8Array | null): string {
  if (b === null || b.length === 0) return '';
  if (b.length === 4) return b.join('.');
  if (b.length !== 16) throw new TypeError(`bad IP length ${b.length}`);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return b.subarray(12).join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // URL's host serializer writes the canonical compressed form.
  return new URL(`http://[${words.join(':')}]`).hostname.slice(1, -1);
}
