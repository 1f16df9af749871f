import type { SansIo, Session, SessionEvent } from '../../transport/api.js';
import { LinkModel } from '../../emulator/LinkModel.js';
import type { LinkConfig } from '../../emulator/LinkConfig.js';
import { SyntheticSource, type SourceFrame } from './Source.js';

/** Both ends of one session in virtual time: the media sender (client) and the receiving side. */
export interface VirtualPeers {
  client: Session;
  server: SansIo;
  /** Application events of the server side's session(s). */
  pollServerEvent(): SessionEvent | undefined;
}

export interface LinkPair {
  up: LinkConfig;
  down: LinkConfig;
}

/** Link I loses all capacity (kill) or gets it back (revive) at this many ms of media time. */
export interface LinkEvent {
  link: number;
  atMs: number;
  kind: 'kill' | 'revive';
}

export interface VirtualRunOptions {
  peers: VirtualPeers;
  /** One pair per link: the client's path `link<I>` reaches the server as 10.0.0.<I+2>:40000. */
  links: LinkPair[];
  events?: LinkEvent[];
  /** Called after every step (debugging, live figures). */
  onStep?: (now: number, mediaStart: number) => void;
  seed: number;
  bitrateBps: number;
  nonref: number;
  /** Encoder reaction delay; undefined = fixed rate. */
  reactionMs?: number;
  /** Adaptive mode: the target the encoder is told at link time t, in place of the session's (BenchOptions.clairvoyant). */
  targetAt?: (linkMs: number) => number;
  durationMs: number;
  latencyMs: number;
}

export interface VirtualRunResult {
  frames: SourceFrame[];
  /** Frame id -> completion time, ms after media start. */
  complete: Map<number, number>;
  /** Datagram bytes the client put on the media direction after media start. */
  wireBytes: number;
  droppedBySender: number;
  targetBps: number[];
  /** Datagram bytes the client sent on each link after media start. */
  linkBytes: number[];
  /**
   * Link time at which media started (the handshake took the time before it): a trace's
   * opportunities at media time t are the link's at mediaStartMs + t, and the oracle and the
   * capacity figure must read the trace there, not from its first line.
   */
  mediaStartMs: number;
}

export const CLIENT_PATH = 'link0';
export const clientPath = (i: number) => `link${i}`;
export const serverSees = (i: number) => `10.0.0.${i + 2}:40000`;
const MAX_STEPS_AT_ONE_TIME = 100_000;

/**
 * Drives a pair of sans-IO peers and the link model on one virtual clock (quinn's Pair): each
 * step delivers what is due, runs due timeouts, feeds the source's frames, drains transmits and
 * events, then jumps to the earliest next wake-up. Same seed, same run.
 */
export function runVirtual(o: VirtualRunOptions): VirtualRunResult {
  const { client, server } = o.peers;
  const ups = o.links.map((l, i) => new LinkModel<Uint8Array>(l.up, o.seed + 7919 * i));
  const downs = o.links.map((l, i) => new LinkModel<Uint8Array>(l.down, o.seed + 0x51ed + 7919 * i));
  const serverIndex = new Map(o.links.map((_, i) => [serverSees(i), i]));
  const clientIndex = new Map(o.links.map((_, i) => [clientPath(i), i]));
  const events = [...(o.events ?? [])].sort((a, b) => a.atMs - b.atMs);
  const linkBytes = o.links.map(() => 0);
  // An adaptive source is an encoder the sender runs, so it can also be asked for keyframes.
  const source = new SyntheticSource({ bitrateBps: o.bitrateBps, nonref: o.nonref, seed: o.seed, reactionMs: o.reactionMs, keyframeOnRequest: o.reactionMs !== undefined });
  const frames: SourceFrame[] = [];
  const complete = new Map<number, number>();
  const targetBps: number[] = [];
  let t0 = -1;
  let audioId = -1, videoId = -1;
  let wireBytes = 0, droppedBySender = 0;
  let now = 0, stepsHere = 0, lastTarget = -Infinity;
  const end = () => (t0 < 0 ? 10_000 : t0 + o.durationMs + o.latencyMs + 1000);

  while (now <= end()) {
    while (t0 >= 0 && events.length && t0 + events[0]!.atMs <= now) {
      const e = events.shift()!;
      for (const l of [ups[e.link]!, downs[e.link]!]) if (e.kind === 'kill') l.block(); else l.unblock();
    }
    for (let i = 0; i < ups.length; i++) {
      for (let d = ups[i]!.poll(now); d; d = ups[i]!.poll(now)) server.handleDatagram(now, serverSees(i), d.payload);
      for (let d = downs[i]!.poll(now); d; d = downs[i]!.poll(now)) client.handleDatagram(now, clientPath(i), d.payload);
    }
    if ((client.pollTimeout() ?? Infinity) <= now) client.handleTimeout(now);
    if ((server.pollTimeout() ?? Infinity) <= now) server.handleTimeout(now);

    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.type === 'connected' && t0 < 0) {
        t0 = now;
        audioId = client.openStream(now, { class: 'audio', reliability: 'deadline', priority: 1 });
        videoId = client.openStream(now, { class: 'video', reliability: 'deadline', priority: 2 });
        for (let i = 1; i < o.links.length; i++) client.addPath(now, clientPath(i));
      } else if (e.type === 'message-dropped') droppedBySender++;
      else if (e.type === 'keyframe-wanted') source.requestKeyframe();
    }
    if (t0 >= 0 && now - t0 < o.durationMs) {
      if (o.reactionMs !== undefined && now - lastTarget >= 100) {
        const bps = o.targetAt ? o.targetAt(now) : client.stats().targetBitrateBps;
        source.setTarget(now - t0, bps);
        targetBps.push(bps);
        lastTarget = now;
      }
      // now was computed as t0 + source time, and (t0 + x) - t0 can fall a hair short of x in
      // floating point: without the epsilon the frame due now is never taken and time stands still.
      for (const f of source.take(Math.min(now - t0 + 1e-6, o.durationMs - 1e-9))) {
        frames.push(f);
        const data = new Uint8Array(Math.max(4, f.size));
        new DataView(data.buffer).setUint32(0, f.id);
        client.send(now, f.kind === 'audio' ? audioId : videoId, data, {
          deadline: t0 + f.capture + o.latencyMs,
          keyframe: f.keyframe,
          reference: f.reference,
          timestamp: f.capture,
        });
      }
    }
    for (let d = client.pollTransmit(now); d; d = client.pollTransmit(now)) {
      const i = clientIndex.get(d.path) ?? 0;
      if (t0 >= 0) {
        wireBytes += d.data.length;
        linkBytes[i]! += d.data.length;
      }
      ups[i]!.send(now, d.data.length, d.data);
    }
    for (let d = server.pollTransmit(now); d; d = server.pollTransmit(now)) {
      const i = serverIndex.get(d.path);
      if (i !== undefined) downs[i]!.send(now, d.data.length, d.data);
    }
    for (let e = o.peers.pollServerEvent(); e; e = o.peers.pollServerEvent()) {
      if (e.type === 'message' && e.data.length >= 4 && t0 >= 0) {
        const id = new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0);
        if (!complete.has(id)) complete.set(id, now - t0);
      }
    }

    o.onStep?.(now, t0);
    let next = Math.min(
      ...ups.map((l) => l.nextTime() ?? Infinity),
      ...downs.map((l) => l.nextTime() ?? Infinity),
      t0 >= 0 && events.length ? t0 + events[0]!.atMs : Infinity,
      client.pollTimeout() ?? Infinity,
      server.pollTimeout() ?? Infinity,
      t0 >= 0 && now - t0 < o.durationMs ? t0 + source.nextTime() : Infinity,
    );
    if (next === Infinity) next = now + 1000;
    if (next <= now) {
      // a peer asked to be woken now again; allow it, but never spin forever at one instant
      if (++stepsHere > MAX_STEPS_AT_ONE_TIME) throw new Error(`virtual run stuck at t=${now} ms`);
    } else {
      stepsHere = 0;
      now = next;
    }
  }
  if (t0 < 0) throw new Error('the session never connected');
  return { frames, complete, wireBytes, droppedBySender, targetBps, linkBytes, mediaStartMs: t0 };
}
