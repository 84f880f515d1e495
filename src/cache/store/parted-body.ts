/**
 * A large stored body read as consecutive absolute Range GETs, the next ones already asked for
 * (and read into memory, up to a part each) while the current one streams to the client. One GET
 * of a large object is bounded by what the store serves on one connection; a few in flight keep
 * it busy between them (measured on Swift: 2 GETs at once ≈ 1.3–1.5× one).
 *
 * Each range is read with If-Match on the entry's body ETag by the caller's `open`. A range the
 * store no longer has as that ETag (412, 404), or one that breaks off, destroys this stream with
 * an error: the client's response is cut, never a short or mixed body presented as whole.
 *
 * The read-ahead is bounded for the whole process by a ReadAheadBudget: a body that finds none
 * left is read as one stream, as before.
 */
import { Readable } from 'node:stream';
import type { ByteRange } from './s3-store.js';

/** Opens one range of the body, to be read ahead of the client (into memory, up to a part); null: the body changed. */
export type OpenRange = (range: ByteRange) => Promise<Readable | null>;

/** `range` cut into consecutive parts of `partSize` bytes (the last one shorter). */
export function partsOf(range: ByteRange, partSize: number): ByteRange[] {
  const parts: ByteRange[] = [];
  for (let start = range.start; start <= range.end; start += partSize) {
    parts.push({ start, end: Math.min(range.end, start + partSize - 1) });
  }
  return parts;
}

/** Bytes of read-ahead that all reads of a process may hold at once. */
export class ReadAheadBudget {
  private left: number;

  constructor(bytes: number) {
    this.left = bytes;
  }

  get available(): number {
    return this.left;
  }

  /** Takes `bytes` if that many are left; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (bytes > this.left) return false;
    this.left -= bytes;
    return true;
  }

  give(bytes: number): void {
    this.left += bytes;
  }
}

/** How large bodies are read: parts of `partSize`, `lanes` of them open at once, the read-ahead bounded by `budget`. */
export interface ReadAhead {
  readonly partSize: number;
  readonly lanes: number;
  readonly budget: ReadAheadBudget;
}

/**
 * `span` of a body as consecutive ranges read ahead, null when the body is gone, undefined when
 * it is not over two parts or no read-ahead is left (one GET then). `open(range, buffer)` opens
 * one range with If-Match; `counted` is told of each read ahead. `whole`: the whole body, already
 * streaming from its start (the lookup's GET): its first part is the first range, and it is
 * closed after it (its connection is not kept for a body left unread).
 */
export async function readAhead(plan: ReadAhead, span: ByteRange, open: (range: ByteRange, buffer: number) => Promise<Readable | null>, counted: () => void, whole?: Readable): Promise<Readable | null | undefined> {
  const parts = partsOf(span, plan.partSize);
  const reserved = (plan.lanes - 1) * plan.partSize;
  if (parts.length <= 2 || !plan.budget.take(reserved)) return undefined;
  const firstPart = parts[0]!;
  const opening = whole === undefined ? open(firstPart, 0) : Promise.resolve(firstBytes(whole, firstPart.end - firstPart.start + 1));
  const first = await opening.catch((err: unknown) => {
    plan.budget.give(reserved);
    throw err;
  });
  if (first === null) {
    plan.budget.give(reserved);
    return null;
  }
  counted();
  return new PartedBody(parts, first, plan.lanes, (range) => open(range, plan.partSize), () => plan.budget.give(reserved));
}

/** The first `bytes` of `source`, after which `source` is destroyed; one that ends short of them breaks this stream. */
export function firstBytes(source: Readable, bytes: number): Readable {
  let left = bytes;
  const out = new Readable({
    read: () => { source.resume(); },
    destroy: (err, callback) => {
      source.destroy();
      callback(err);
    },
  });
  source.on('data', (chunk: Buffer) => {
    if (left === 0) return;
    const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    const more = out.push(piece);
    if (left === 0) {
      out.push(null);
      source.destroy();
    } else if (!more) source.pause();
  });
  source.once('error', (err) => out.destroy(err));
  source.once('end', () => {
    if (left > 0) out.destroy(new Error(`the stored body ended ${left} bytes short of its first part`));
  });
  return out;
}

export class PartedBody extends Readable {
  private readonly parts: readonly ByteRange[];
  private readonly lanes: number;
  private readonly open: OpenRange;
  /** Ranges asked for and not streaming yet, in order. */
  private readonly pending: Array<Promise<Readable | null>> = [];
  private current: Readable | null = null;
  /** The next part to ask for. */
  private next = 0;
  private readonly released: () => void;

  /**
   * `first` is the first part, already open (the caller checked it exists); at most `lanes` parts
   * are open at once. `released` is called once, when this stream is done with (ended or destroyed).
   */
  constructor(parts: readonly ByteRange[], first: Readable, lanes: number, open: OpenRange, released: () => void) {
    super({ highWaterMark: 64 * 1024 });
    this.parts = parts;
    this.lanes = lanes;
    this.open = open;
    this.next = 1;
    this.released = once(released);
    this.stream(first);
  }

  override _read(): void {
    this.current?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.current?.destroy();
    this.current = null;
    for (const opening of this.pending.splice(0)) opening.then((body) => body?.destroy(), () => undefined);
    this.released();
    callback(err);
  }

  /** Asks for the next parts while fewer than `lanes` are open. */
  private askAhead(): void {
    while (this.next < this.parts.length && this.pending.length + (this.current === null ? 0 : 1) < this.lanes) {
      const opening = this.open(this.parts[this.next++]!);
      opening.catch(() => undefined); // handled when its turn comes (or dropped on destroy)
      this.pending.push(opening);
    }
  }

  private stream(body: Readable): void {
    if (this.destroyed) {
      body.destroy();
      return;
    }
    this.current = body;
    body.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) body.pause();
    });
    body.once('error', (err) => this.destroy(err));
    body.once('end', () => {
      this.current = null;
      this.askAhead();
      this.following();
    });
    this.askAhead();
  }

  /** The current part ended: the next one streams, or the body is whole. */
  private following(): void {
    const opening = this.pending.shift();
    if (opening === undefined) {
      this.released();
      this.push(null);
      return;
    }
    opening.then((body) => {
      if (body === null) this.destroy(new Error('the stored body changed while it was read'));
      else this.stream(body);
    }, (err: Error) => this.destroy(err));
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
