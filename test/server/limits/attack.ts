import { once } from 'node:events';
import type { Socket } from 'node:net';
import { RawClient } from '../rtmp/RawClient.js';
import type { ChildServer, Mem } from './child.js';

/** Writes, then waits for the socket to drain (or close); false once the server has closed it. */
export async function pour(c: RawClient, data: Uint8Array): Promise<boolean> {
  if (c.isClosed || c.socket.destroyed) return false;
  if (!c.socket.write(data)) await Promise.race([once(c.socket, 'drain').catch(() => undefined), c.closed]);
  return !c.isClosed && !c.socket.destroyed;
}

/** A type-0 chunk header on `csid` opening a message of `length` bytes of `type` (9: video). */
export function header(csid: number, length: number, type = 9): number[] {
  return [csid & 0x3f, 0, 0, 0, (length >> 16) & 255, (length >> 8) & 255, length & 255, type, 1, 0, 0, 0];
}

/** A connection past the handshake with the server reading at `chunkSize`. */
export async function attacker(port: number, chunkSize: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  await c.handshake();
  c.send(2, 1, 0, 0, new Uint8Array([(chunkSize >>> 24) & 0x7f, (chunkSize >> 16) & 255, (chunkSize >> 8) & 255, chunkSize & 255]));
  return c;
}

/** The largest of each figure the child reports while `during` runs, sampled every 200 ms. */
export async function peakWhile(child: ChildServer, during: Promise<unknown>): Promise<Mem> {
  let done = false;
  const finished = during.finally(() => (done = true));
  let peak = await child.mem();
  while (!done) {
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
    const m = await child.mem();
    peak = { ...m, rss: Math.max(peak.rss, m.rss), heapUsed: Math.max(peak.heapUsed, m.heapUsed), arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers) };
  }
  await finished;
  return peak;
}

export const MB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

export type { Socket };
