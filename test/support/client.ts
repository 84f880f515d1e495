import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request with a keep-alive agent; resolves with the whole answer. */
export function request(url: string, options: http.RequestOptions & { body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(options.body);
  });
}

export interface LoadResult {
  ok: number;
  failed: number;
  statuses: Map<number, number>;
  errors: string[];
  backends: Map<string, number>;
}

/**
 * Steady GET load: `workers` loops, each sending requests one after another, until `stop()`
 * resolves. Every non-200 answer or transport error counts as a failure.
 */
export async function load(url: string, workers: number, until: Promise<unknown>): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, statuses: new Map(), errors: [], backends: new Map() };
  let stopped = false;
  void until.then(() => { stopped = true; });
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const r = await request(url);
        result.statuses.set(r.status, (result.statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) result.ok++;
        else {
          result.failed++;
          if (result.errors.length < 10) result.errors.push(`${r.status} ${r.text.slice(0, 200)}`);
        }
        const b = String(r.headers['x-backend'] ?? '');
        result.backends.set(b, (result.backends.get(b) ?? 0) + 1);
      } catch (err) {
        result.failed++;
        if (result.errors.length < 10) result.errors.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  return result;
}
