/**
 * The dashboard's files (ui/ at the package root: plain HTML, CSS and browser JavaScript, no build
 * step), served by the catalog API under /ui/. Read once, on the first request.
 */
import fs from 'node:fs';
import type http from 'node:http';

const UI_DIR = new URL('../../../ui/', import.meta.url);

const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/ui/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/ui/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

/** Answers a dashboard path; false when `path` is not one. */
export function serveDashboard(path: string, res: http.ServerResponse): boolean {
  if (path === '/' || path === '/ui') {
    res.writeHead(302, { Location: '/ui/' }).end();
    return true;
  }
  const entry = FILES[path];
  if (entry === undefined) return false;
  let body = cache.get(entry.file);
  if (body === undefined) {
    try {
      body = fs.readFileSync(new URL(entry.file, UI_DIR));
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`dashboard file ${entry.file} missing: ${(err as Error).message}\n`);
      return true;
    }
    cache.set(entry.file, body);
  }
  res.writeHead(200, { 'Content-Type': entry.type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' }).end(body);
  return true;
}
