/** Bytes from memberlist-wire.md, shared by the codec tests. */
export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const VSN = hex('010502000000');

/** alive of node B as captured (§11.3). */
export const ALIVE_B = `0486 a441646472 a47f000001 ab496e6361726e6174696f6e 01 a44d657461 a56d65746142
  a44e6f6465 a142 a4506f7274 cd4396 a356736e a6010502000000`;
