// CPU per cache store call, in-process: the AWS SDK v3 against the cache's own S3 client
// (src/cache/store), each against a node:http stand-in store in the same process, so a figure is
// the client and the stand-in together (a plain unsigned node:http client is printed as the floor).
// Not part of `npm run bench`; alone: `npm run build && node dist/bench/store-calls.js` (CALLS=300).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '../src/cache/store/s3-store.js';

const CALLS = Number(process.env.CALLS ?? 300);
const WARMUP = 50;
const body = Buffer.alloc(1 << 20, 7);
type Mode = 'GetObject → 404' | 'GetObject 2 B' | 'PutObject 1 MiB';
type Call = (i: number, mode: Mode) => Promise<void>;

function standIn(mode: () => Mode): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const m = mode();
      if (m === 'GetObject → 404') res.writeHead(404, { 'content-type': 'application/xml', 'content-length': 37 }).end('<Error><Code>NoSuchKey</Code></Error>');
      else if (m === 'GetObject 2 B') res.writeHead(200, { 'content-type': 'application/json', etag: '"x"', 'content-length': 2 }).end('{}');
      else res.writeHead(200, { etag: '"x"', 'content-length': 0 }).end();
    });
  });
}

function clients(endpoint: string): Record<string, { call: Call; close: () => void }> {
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const sdk = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 2,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true }) } });
  const own = new S3Store({ endpoint, accessKey: 'a', secretKey: 'b', region: 'us-east-1', bucket: 'b', partSize: 8 << 20, queueSize: 2 });
  const agent = new http.Agent({ keepAlive: true });
  return {
    'AWS SDK': {
      call: async (i, mode) => {
        if (mode === 'PutObject 1 MiB') await sdk.send(new PutObjectCommand({ Bucket: 'b', Key: `k/${i}/body`, Body: body, ContentLength: body.length }));
        else await sdk.send(new GetObjectCommand({ Bucket: 'b', Key: `k/${i}/meta.json` })).then((o) => o.Body?.transformToString(), () => undefined);
      },
      close: () => sdk.destroy(),
    },
    'own client': {
      call: async (i, mode) => {
        if (mode !== 'PutObject 1 MiB') return void await own.getText(`k/${i}/meta.json`);
        const upload = own.upload(`k/${i}/body`, body.length);
        upload.write(body);
        await upload.end();
      },
      close: () => own.destroy(),
    },
    'node:http, unsigned': {
      call: (i, mode) => new Promise((resolve, reject) => {
        const put = mode === 'PutObject 1 MiB';
        const req = http.request(`${endpoint}/b/k/${i}/${put ? 'body' : 'meta.json'}`, { agent, method: put ? 'PUT' : 'GET' }, (res) => {
          res.resume();
          res.once('end', resolve);
        });
        req.once('error', reject);
        req.end(put ? body : undefined);
      }),
      close: () => agent.destroy(),
    },
  };
}

async function main(): Promise<void> {
  let mode: Mode = 'GetObject → 404';
  const server = standIn(() => mode);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const all = clients(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  for (const m of ['GetObject → 404', 'GetObject 2 B', 'PutObject 1 MiB'] as const) {
    mode = m;
    for (const [name, { call }] of Object.entries(all)) {
      for (let i = 0; i < WARMUP; i++) await call(i, m);
      const cpu = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await call(i, m);
      const used = process.cpuUsage(cpu);
      console.log(`${m.padEnd(16)} ${name.padEnd(20)} ${((used.user + used.system) / CALLS).toFixed(0).padStart(5)} µs CPU per call (client and stand-in)`);
    }
  }
  for (const { close } of Object.values(all)) close();
  server.close();
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
