import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends } from './support/backends.js';
import { startOutrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

/** Every secret a request or response below carries; none may appear in a redacted trace. */
const SECRETS = ['tok-5ecret', 'c00kie-5ecret', 'set-5ecret', 'sts-5ecret', 'sigv4-5ecret', 'sigv2-5ecret', 'AKIA5ECRET', 'proxy-5ecret'];

/** One traced request full of credentials, through a backend that sets a cookie; returns outrigger's stdout. */
async function tracedRequest(extra: string[]): Promise<string> {
  const [backend] = await startBackends(1, 'b', (req, res) => {
    req.resume();
    res.writeHead(200, { 'Set-Cookie': 'session=set-5ecret; Path=/; HttpOnly' }).end('ok');
  });
  const o = await startOutrigger(['--health-path', '/health', '--trace', 'application', '--debug', ...extra, backend!.url]);
  cleanup.track(o, backend!);
  const query = 'X-Amz-Credential=AKIA5ECRET%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=sigv4-5ecret&Signature=sigv2-5ecret';
  const r = await request(`${o.base}/bucket/key?${query}`, {
    headers: {
      Authorization: 'Bearer tok-5ecret', 'Proxy-Authorization': 'Basic proxy-5ecret', Cookie: 'sid=c00kie-5ecret',
      'X-Amz-Security-Token': 'sts-5ecret',
    },
  });
  assert.equal(r.status, 200);
  await o.output(/response headers|"responseHeaders"/);
  return o.stdout;
}

for (const json of [false, true]) {
  test(`--debug traces${json ? ' (--json)' : ''} redact credentials: Authorization, cookies, STS token, presigned signatures`, async () => {
    const out = await tracedRequest(json ? ['--json'] : []);
    for (const secret of SECRETS) assert.ok(!out.includes(secret), `${secret} printed:\n${out}`);
    // What helps debugging is kept: schemes, cookie names, the credential scope.
    for (const kept of ['Bearer [REDACTED]', 'sid=[REDACTED]', 'session=[REDACTED]; Path=/; HttpOnly', 'X-Amz-Signature=[REDACTED]',
      '[REDACTED]%2F20261129%2Fus-east-1']) assert.ok(out.includes(kept), `${kept} missing:\n${out}`);
  });
}

test('--debug-raw prints credentials as they are', async () => {
  const out = await tracedRequest(['--debug-raw']);
  for (const secret of SECRETS) assert.ok(out.includes(secret), `${secret} missing:\n${out}`);
});
