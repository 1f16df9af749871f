/**
 * `tributary bench core`: throughput of the transport core in virtual time on one thread: a
 * client and a server session joined directly (no loss, 10 ms each way), the client sending
 * 1000-byte video messages as fast as the pacer lets it. Reports datagrams per second of wall
 * time (both directions, acks included) per encryption mode.
 */
import { createClientSession } from '../../transport/index.js';
import { Endpoint } from '../../transport/Endpoint.js';
import { SeededRandom } from '../../transport/Random.js';
import type { Session } from '../../transport/Session.js';
import type { EncryptionMode } from '../../transport/api.js';

interface Flight {
  at: number;
  data: Uint8Array;
}

export function measure(mode: EncryptionMode, virtualSeconds: number): { packets: number; wallMs: number; delivered: number } {
  const ep = new Endpoint({ now: 0, resolvePsk: () => 't', random: new SeededRandom(1), maxBitrateBps: 1e9 });
  const c = createClientSession({ now: 0, psk: 't', encryption: mode, random: new SeededRandom(2), initialBitrateBps: 200_000_000, maxBitrateBps: 1e9 });
  const up: Flight[] = [];
  const down: Flight[] = [];
  let upHead = 0, downHead = 0;
  let now = 0;
  let server: Session | undefined;
  let packets = 0;
  let delivered = 0;
  let sent = 0;
  let dropped = 0;
  let stream = -1;
  const payload = new Uint8Array(1000);
  const t0 = performance.now();
  const end = virtualSeconds * 1000;
  while (now < end) {
    const ct = c.pollTimeout();
    if (ct !== undefined && ct <= now) c.handleTimeout(now);
    const st = ep.pollTimeout();
    if (st !== undefined && st <= now) ep.handleTimeout(now);
    if (stream < 0 && c.stats().state === 'connected') stream = c.openStream(now, { class: 'video', reliability: 'deadline', priority: 2 });
    // Keep a bounded backlog: an unbounded queue would measure the queue, not the protocol.
    if (stream >= 0 && sent - delivered - dropped < 256) {
      for (let i = 0; i < 8; i++) c.send(now, stream, payload, { deadline: now + 1000 });
      sent += 8;
    }
    for (let d = c.pollTransmit(now); d; d = c.pollTransmit(now)) up.push({ at: now + 10, data: d.data });
    for (let d = ep.pollTransmit(now); d; d = ep.pollTransmit(now)) down.push({ at: now + 10, data: d.data });
    while (upHead < up.length && up[upHead]!.at <= now) {
      ep.handleDatagram(now, 'c', up[upHead++]!.data);
      packets++;
    }
    while (downHead < down.length && down[downHead]!.at <= now) {
      c.handleDatagram(now, 'default', down[downHead++]!.data);
      packets++;
    }
    if (upHead > 4096) (up.splice(0, upHead), (upHead = 0));
    if (downHead > 4096) (down.splice(0, downHead), (downHead = 0));
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) server = e.session;
    if (server) for (let e = server.pollEvent(); e; e = server.pollEvent()) if (e.type === 'message') delivered++;
    for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'message-dropped') dropped++;
    now += 0.1;
  }
  return { packets, wallMs: performance.now() - t0, delivered };
}

export interface CoreResult {
  mode: EncryptionMode;
  datagrams: number;
  wallMs: number;
  packetsPerSecond: number;
  delivered: number;
}

export function benchCore(virtualSeconds: number, modes: EncryptionMode[] = ['all', 'headers', 'none']): CoreResult[] {
  return modes.map((mode) => {
    const r = measure(mode, virtualSeconds);
    return { mode, datagrams: r.packets, wallMs: Math.round(r.wallMs), packetsPerSecond: Math.round((r.packets * 1000) / r.wallMs), delivered: r.delivered };
  });
}
