/**
 * A bounded copy of a request body for the mirror: bytes are copied (the client's buffers go on
 * to the backend and are reused), and past `limit` the copy is given up for good, so a large
 * upload costs the mirror nothing but the bytes already held, which are freed at once.
 */
export class BodyCopy {
  private readonly limit: number;
  private parts: Buffer[] | null = [];
  private bytes = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** False once the body went over the limit (the mirror request is then not sent). */
  get complete(): boolean {
    return this.parts !== null;
  }

  add(data: Buffer, start = 0, end = data.length): void {
    if (this.parts === null) return;
    this.bytes += end - start;
    if (this.bytes > this.limit) {
      this.parts = null;
      return;
    }
    this.parts.push(Buffer.from(data.subarray(start, end)));
  }

  /** The whole body; only meaningful while `complete`. */
  body(): Buffer {
    const parts = this.parts ?? [];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bytes);
  }
}
