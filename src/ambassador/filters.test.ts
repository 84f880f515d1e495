import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../upstream/backend.js';
import { ProxyError } from '../proxy/errors.js';
import type { Outcome, RequestView } from '../proxy/pipeline.js';
import { OutlierDetector } from '../outlier/detector.js';
import { StickyCookie } from '../balance/sticky.js';
import { outlierFilter, stickyFilter } from './filters.js';

const b = new Backend({ url: 'http://b:80', protocol: 'http:', hostname: 'b', port: 80, basePath: '' }, 0, { insecure: false, healthUrl: 'http://b:80/' });

function view(cookies: Record<string, string> = {}): RequestView {
  return {
    protocol: 'http/1.1', method: 'GET', target: '/', authority: 'x', clientIp: '10.0.0.1', hasBody: false,
    header: () => undefined, fields: () => [], cookie: (n) => cookies[n], query: () => undefined,
  };
}

function outcome(status: number, error: ProxyError | null, backend: Backend | null = b): Outcome {
  return { status, backend, attempts: 1, failedOn: null, rxBytes: 0, txBytes: 0, error };
}

test('outlier filter: backend answers and upstream failures count; a client leaving or a local answer does not', () => {
  const recorded: number[] = [];
  const detector = { record: (_b: Backend, status: number) => recorded.push(status) } as unknown as OutlierDetector;
  const f = outlierFilter(detector);
  f.done!(view(), outcome(503, null));
  f.done!(view(), outcome(502, new ProxyError('UPSTREAM_CONNECT_FAILED', 'refused')));
  f.done!(view(), outcome(200, new ProxyError('CLIENT_CLOSED', 'left')));
  f.done!(view(), outcome(429, null, null));
  f.done!(view(), { ...outcome(200, null), failedOn: [b, b] });
  assert.deepEqual(recorded, [503, 0, 0, 0, 200]);
});

test('sticky filter: sets the cookie unless the request already names the backend that answered', () => {
  const sticky = new StickyCookie('lb');
  const f = stickyFilter(sticky);
  assert.deepEqual(f.responseFields!(view(), b), ['Set-Cookie', sticky.setCookie(b)]);
  assert.deepEqual(f.responseFields!(view({ lb: 'other' }), b), ['Set-Cookie', sticky.setCookie(b)]);
  assert.equal(f.responseFields!(view({ lb: sticky.valueFor(b) }), b), null);
});
