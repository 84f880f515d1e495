/**
 * Answers made from stored entries: from the memory tier, from a small body read whole into it,
 * or streamed from the store (a whole body or a range). A body the store no longer has (or has
 * replaced since its metadata was read) makes no answer: the caller treats it as a miss.
 */
import type { Answer, RequestView } from '../proxy/pipeline.js';
import { bufferSlice, deferredBody, planHit, storedHeaders } from './answers.js';
import type { CacheStatus } from './cache-status.js';
import type { StoreDeadline } from './deadline.js';
import type { Entries, Located } from './entries.js';
import type { StoredPolicy } from './policy.js';
import type { CacheStats } from './stats.js';

/** The body named by the metadata is gone: answer as a miss. */
export const GONE = 'gone';

export class Hits {
  private readonly entries: Entries;
  private readonly stats: CacheStats;
  private readonly deadline: StoreDeadline;

  constructor(entries: Entries, stats: CacheStats, deadline: StoreDeadline) {
    this.entries = entries;
    this.stats = stats;
    this.deadline = deadline;
  }

  /** The answer to `req` from `found`, or GONE. */
  async answer(req: RequestView, found: Located, policy: StoredPolicy, status: CacheStatus): Promise<Answer | typeof GONE> {
    const headers = storedHeaders(found.entry, policy.age(), status);
    const plan = planHit(req.method, (name) => req.header(name), found.entry, headers);
    if (plan.kind === 'empty') return this.counted(plan.answer, 0);
    let body = found.body;
    const memory = this.entries.memory;
    // A small body is read whole into the memory tier, unless the lookup's GET brought the very range asked.
    if (body === undefined && memory !== null && found.entry.size <= memory.maxObject && found.early?.holdsRange(plan.range) !== true) {
      const whole = await this.readWhole(found);
      if (whole === null) return GONE;
      body = whole;
    } else if (body !== undefined) this.stats.memoryHits++;
    if (body !== undefined) return this.counted({ status: plan.status, headers: plan.headers, body: bufferSlice(body, plan.range) }, plan.length);
    const stream = await this.entries.openBody(found, plan.range).catch(() => null);
    if (stream === null) return GONE;
    return this.counted({ status: plan.status, headers: plan.headers, body: stream, length: plan.length }, plan.length);
  }

  /**
   * The same, for a response-head phase that must answer synchronously: the store body is a
   * pass-through the store stream is piped into once it opens (it breaks if the body is gone, or
   * not opened within the lookup deadline).
   * `header` reads the client's own request fields.
   */
  answerNow(method: string, header: (name: string) => string | undefined, found: Located, policy: StoredPolicy, status: CacheStatus): Answer {
    const headers = storedHeaders(found.entry, policy.age(), status);
    const plan = planHit(method, header, found.entry, headers);
    if (plan.kind === 'empty') return this.counted(plan.answer, 0);
    if (found.body !== undefined) return this.counted({ status: plan.status, headers: plan.headers, body: bufferSlice(found.body, plan.range) }, plan.length);
    const body = deferredBody(this.entries.openBody(found, plan.range), this.deadline);
    return this.counted({ status: plan.status, headers: plan.headers, body, length: plan.length }, plan.length);
  }

  /**
   * An answer that came too late to be used (deadline.ts): its store body is released and it is
   * not counted. Only answers with a body read from the store can be late; they counted their
   * body's length (a stream's declared length, a buffer's size).
   */
  withdraw(late: Answer | typeof GONE): void {
    if (late === GONE) return;
    this.stats.hits--;
    if ('length' in late) {
      this.stats.bytesServed -= late.length;
      late.body.destroy();
    } else this.stats.bytesServed -= late.body.length;
  }

  private counted(answer: Answer, bytes: number): Answer {
    this.stats.hits++;
    this.stats.bytesServed += bytes;
    return answer;
  }

  /** A small body read whole from the store and kept in the memory tier; null when it cannot be read. */
  private async readWhole(found: Located): Promise<Buffer | null> {
    try {
      const stream = await this.entries.openBody(found);
      if (stream === null) return null;
      const body = Buffer.concat(await stream.toArray() as Buffer[]);
      if (body.length !== found.entry.size) return null;
      this.entries.keep(found, body);
      return body;
    } catch {
      return null;
    }
  }
}
