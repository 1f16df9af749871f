import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import type { LinkConfig } from '../../emulator/LinkConfig.js';
import { SyntheticSource, type SourceFrame } from './Source.js';
import { clientPath, type LinkEvent, type VirtualPeers } from './VirtualRun.js';

export interface RealRunOptions {
  peers: VirtualPeers;
  /**
   * One pair per link. With several, link I's socket is bound to 127.0.0.<I+2> and the proxy
   * gives that address its own link models (a bonded sender's local addresses).
   */
  links: Array<{ up: LinkConfig; down: LinkConfig }>;
  events?: LinkEvent[];
  seed: number;
  bitrateBps: number;
  nonref: number;
  reactionMs?: number;
  durationMs: number;
  latencyMs: number;
}

export interface RealRunResult {
  frames: SourceFrame[];
  complete: Map<number, number>;
  wireBytes: number;
  linkBytes: number[];
  /** When media started after the link proxy did, ms (VirtualRunResult.mediaStartMs; to a few ms here). */
  mediaStartMs: number;
}

async function udp(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, address);
  await once(s, 'listening');
  return s;
}

/**
 * The same peers as the virtual run, over real UDP sockets on loopback through UdpLinkProxy,
 * in real time: a minimal shell (socket in -> handleDatagram, one timer at the earliest
 * pollTimeout or frame capture -> handleTimeout / send, drain pollTransmit to the socket).
 */
export async function runReal(o: RealRunOptions): Promise<RealRunResult> {
  const { client, server } = o.peers;
  const bonded = o.links.length > 1;
  const ips = o.links.map((_, i) => (bonded ? `127.0.0.${i + 2}` : '127.0.0.1'));
  const sockets = await Promise.all(ips.map((ip) => udp(ip)));
  const ss = await udp();
  const proxy = new UdpLinkProxy({
    target: { host: '127.0.0.1', port: ss.address().port }, up: o.links[0]!.up, down: o.links[0]!.down, seed: o.seed,
    bySource: bonded ? Object.fromEntries(o.links.map((l, i) => [ips[i]!, l])) : undefined,
  });
  const events = [...(o.events ?? [])].sort((a, b) => a.atMs - b.atMs);
  const linkBytes = o.links.map(() => 0);
  const proxyPort = await proxy.listen();
  const linkStart = performance.now();
  const source = new SyntheticSource({ bitrateBps: o.bitrateBps, nonref: o.nonref, seed: o.seed, reactionMs: o.reactionMs, keyframeOnRequest: o.reactionMs !== undefined });
  const frames: SourceFrame[] = [];
  const complete = new Map<number, number>();
  const clock = () => performance.now();
  let t0 = -1, audioId = -1, videoId = -1, wireBytes = 0, lastTarget = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let finished: () => void = () => {};
  const done = new Promise<void>((r) => (finished = r));
  const deadlineAll = () => t0 + o.durationMs + o.latencyMs + 1000;

  const pump = () => {
    const now = clock();
    if ((client.pollTimeout() ?? Infinity) <= now) client.handleTimeout(now);
    if ((server.pollTimeout() ?? Infinity) <= now) server.handleTimeout(now);
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.type === 'connected' && t0 < 0) {
        t0 = now;
        audioId = client.openStream(now, { class: 'audio', reliability: 'deadline', priority: 1 });
        videoId = client.openStream(now, { class: 'video', reliability: 'deadline', priority: 2 });
        for (let i = 1; i < o.links.length; i++) client.addPath(now, clientPath(i));
      } else if (e.type === 'keyframe-wanted') source.requestKeyframe();
    }
    while (t0 >= 0 && events.length && t0 + events[0]!.atMs <= now) {
      const e = events.shift()!;
      if (bonded) proxy.blockSource(ips[e.link]!, e.kind === 'kill');
      else if (e.kind === 'kill') proxy.block();
      else proxy.unblock();
    }
    if (t0 >= 0 && now - t0 < o.durationMs) {
      if (o.reactionMs !== undefined && now - lastTarget >= 100) {
        source.setTarget(now - t0, client.stats().targetBitrateBps);
        lastTarget = now;
      }
      for (const f of source.take(Math.min(now - t0, o.durationMs - 1e-9))) {
        frames.push(f);
        const data = new Uint8Array(Math.max(4, f.size));
        new DataView(data.buffer).setUint32(0, f.id);
        client.send(now, f.kind === 'audio' ? audioId : videoId, data, {
          deadline: t0 + f.capture + o.latencyMs, keyframe: f.keyframe, reference: f.reference, timestamp: f.capture,
        });
      }
    }
    for (let d = client.pollTransmit(now); d; d = client.pollTransmit(now)) {
      const i = Math.max(0, Number(d.path.slice(4)) || 0);
      if (t0 >= 0) {
        wireBytes += d.data.length;
        linkBytes[i]! += d.data.length;
      }
      sockets[i]?.send(d.data, proxyPort, '127.0.0.1');
    }
    for (let d = server.pollTransmit(now); d; d = server.pollTransmit(now)) {
      const i = d.path.lastIndexOf(':');
      ss.send(d.data, Number(d.path.slice(i + 1)), d.path.slice(0, i));
    }
    for (let e = o.peers.pollServerEvent(); e; e = o.peers.pollServerEvent()) {
      if (e.type === 'message' && e.data.length >= 4 && t0 >= 0) {
        const id = new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0);
        if (!complete.has(id)) complete.set(id, now - t0);
      }
    }
    if (t0 >= 0 && now >= deadlineAll()) {
      finished();
      return;
    }
    const next = Math.min(
      client.pollTimeout() ?? Infinity,
      server.pollTimeout() ?? Infinity,
      t0 >= 0 && now - t0 < o.durationMs ? t0 + source.nextTime() : Infinity,
      t0 >= 0 ? deadlineAll() : now + 1000,
      t0 >= 0 && events.length ? t0 + events[0]!.atMs : Infinity,
    );
    if (timer) clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, Math.min(next, now + 1000) - now));
  };
  sockets.forEach((sock, i) =>
    sock.on('message', (m) => {
      client.handleDatagram(clock(), clientPath(i), m);
      pump();
    }),
  );
  ss.on('message', (m, r) => {
    server.handleDatagram(clock(), `${r.address}:${r.port}`, m);
    pump();
  });
  try {
    pump();
    const fail = setTimeout(() => finished(), o.durationMs + o.latencyMs + 15_000);
    await done;
    clearTimeout(fail);
    if (t0 < 0) throw new Error('the session never connected over real sockets');
    return { frames, complete, wireBytes, linkBytes, mediaStartMs: t0 - linkStart };
  } finally {
    if (timer) clearTimeout(timer);
    proxy.close();
    for (const sock of sockets) sock.close();
    ss.close();
  }
}
