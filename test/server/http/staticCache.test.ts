import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';

let server: Server;
let base: string;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } }), { logger: createLogger('silent') });
  base = `http://127.0.0.1:${(await server.start()).httpPort}`;
});

after(async () => {
  await server.close();
});

test('the dashboard names its scripts and stylesheets by version; those answers are immutable, the page itself revalidates', async () => {
  const page = await fetch(`${base}/dashboard`);
  const html = await page.text();
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const links = [...html.matchAll(/(?:src|href)="(\/(?:lib|web|dashboard)\/[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(links.map((l) => l.split('?')[0]).sort(), ['/dashboard/charts.js', '/dashboard/dashboard.css', '/dashboard/dashboard.js', '/lib/uPlot.min.css', '/lib/uPlot.iife.min.js', '/web/style.css'].sort());
  for (const link of links) {
    const v = new URL(link, base).searchParams.get('v');
    assert.match(v ?? '', /^[A-Za-z0-9_-]{16}$/, link);
    const r = await fetch(base + link);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200, link);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable', link);
    assert.equal(r.headers.get('etag'), `"${v}"`, link);
    // The version is the body's: the same file without ?v= has the same ETag but must revalidate.
    const plain = await fetch(base + link.split('?')[0]);
    assert.deepEqual(Buffer.from(await plain.arrayBuffer()), body, link);
    assert.equal(plain.headers.get('etag'), `"${v}"`, link);
    assert.equal(plain.headers.get('cache-control'), 'no-cache', link);
  }
  // An old or forged version is not promised forever.
  const forged = await fetch(`${base}/dashboard/dashboard.js?v=AAAAAAAAAAAAAAAA`);
  await forged.arrayBuffer();
  assert.equal(forged.headers.get('cache-control'), 'no-cache');
});

test('a browser holding the body gets a 304 without it, for pages and libraries', async () => {
  for (const path of ['/dashboard', '/lib/uPlot.iife.min.js', '/web/style.css', '/']) {
    const first = await fetch(base + path);
    await first.arrayBuffer();
    const etag = first.headers.get('etag');
    assert.ok(etag, path);
    const again = await fetch(base + path, { headers: { 'If-None-Match': `W/"nope", ${etag}` } });
    assert.equal(again.status, 304, path);
    assert.equal((await again.arrayBuffer()).byteLength, 0, path);
    const other = await fetch(base + path, { headers: { 'If-None-Match': '"something-else"' } });
    assert.equal(other.status, 200, path);
    await other.arrayBuffer();
  }
});
