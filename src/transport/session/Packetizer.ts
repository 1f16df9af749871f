/**
 * The send path for PROTECTED packets: one datagram per call. Path-bound frames first (path
 * responses, MTU probe acks, challenges), then echoed ACKs, probes and PINGs of paths, copies
 * for other paths, MTU probes; else a packet with the due control frames (FINISHED, ACK, NACK,
 * FEEDBACK, STREAM_OPEN, PING) and at most one DATA or FEC_REPAIR frame, paced and under the
 * congestion window of the path the bonding mode picks.
 */
import { lostLength, type LostFrame } from '../../wire/lost.js';
import { Writer } from '../../wire/buf.js';
import { MAX_DATAGRAM, PROTECTED_HEADER_LEN, SHORT_HEADER_LEN, encodeShortHeader } from '../../wire/header.js';
import { encodeFrame, type Frame } from '../../wire/frame.js';
import { DATA_FEC_OVERHEAD, DATA_FLAG_FEC, DATA_FLAG_KEYFRAME, DATA_FLAG_REFERENCE, NO_DEADLINE, type DataFrame } from '../../wire/data.js';
import { encodePadding } from '../../wire/ping.js';
import { MAX_NACKS } from '../../wire/nack.js';
import type { FecRepairFrame } from '../../wire/fecRepair.js';
import { TAG_LEN } from '../crypto/PacketProtection.js';
import type { Datagram } from '../api.js';
import type { OutFragment, OutStream } from '../SendQueue.js';
import type { Path } from '../Path.js';
import type { SessionState } from './SessionState.js';
import type { Handshaking } from './Handshaking.js';
import type { LossRecovery } from './LossRecovery.js';
import type { PathHealth } from './PathHealth.js';
import type { MediaPaths } from './MediaPaths.js';
import type { FecHooks } from './FecHooks.js';
import type { Feedback } from './Feedback.js';

const CLASS_CODE = { control: 0, audio: 1, video: 2 } as const;
/** Room kept in every packet for control frames next to a full DATA frame. */
const CONTROL_RESERVE = 80;
/** Most ranges an ACK riding with media may carry (14 + 4 * 8 = 46 bytes). */
const PIGGYBACK_RANGES = 8;
const PIGGYBACK_ACK = 46;

export class Packetizer {
  /** The same ACK, still to go out on other paths (see pollProtected). */
  private readonly ackEcho: Array<{ path: Path; ack: Frame }> = [];
  /** Whether the DATA frame dataFrame built last is a fragment's first transmission. */
  private sentFirstCopy = false;

  constructor(
    private readonly s: SessionState,
    private readonly hs: Handshaking,
    private readonly loss: LossRecovery,
    private readonly health: PathHealth,
    private readonly media: MediaPaths,
    private readonly fec: FecHooks,
    private readonly feedback: Feedback,
  ) {}

  /** Something path-bound or echoed must go at once (pollTimeout returns 0). */
  get echoPending(): boolean {
    return this.ackEcho.length > 0;
  }

  /** Payload bytes per fragment: the smallest MTU in use, less header, tag, DATA header and room for control frames. */
  fragmentRoom(): number {
    let mtu = Infinity;
    // Every path that may carry media (a bonded link before its challenge is answered
    // included): a fragment cut for a larger MTU cannot be copied to a smaller path.
    for (const p of this.s.paths) if (p.usable) mtu = Math.min(mtu, p.mtu.mtu);
    if (!Number.isFinite(mtu)) mtu = this.s.o.initialMtu;
    return mtu - PROTECTED_HEADER_LEN - TAG_LEN - DATA_FEC_OVERHEAD - CONTROL_RESERVE;
  }

  renackMs(): number {
    return Math.max(50, 1.5 * this.s.primaryPath().rtt.smoothed);
  }

  probeTimeout(p: Path): number {
    return Math.max(3 * p.rtt.smoothed, 200);
  }

  /** When media (a repair or the queue's next fragment) can leave on some path, or Infinity. */
  mediaWakeAt(t: number, nextShed: number): number {
    const s = this.s;
    if (this.fec.hasRepair || !s.queue.empty) {
      const size = this.fec.hasRepair ? this.fec.nextRepairSize() : s.queue.peekSize(s.lastPoll, s.dropFn) + DATA_FEC_OVERHEAD;
      // Wake when the scheduler may place it (only on a path the next packet fits: a fragment cut for a larger MTU waits for that path).
      t = Math.min(t, s.sched.nextSendTime(s.lastPoll, s.bond, this.media.paths(), size + 40, size + PIGGYBACK_ACK + PROTECTED_HEADER_LEN + TAG_LEN));
      t = Math.min(t, nextShed);
    }
    return t;
  }

  /** The CLOSE frame, once; the session is closed right after. */
  pollClose(now: number): Datagram | undefined {
    const s = this.s;
    const path = s.primaryPath();
    const frames: Frame[] = [{ kind: 'close', code: s.closeFrame!.code, reason: s.closeFrame!.reason }];
    const reason = s.closeFrame!.reason;
    s.closeFrame = undefined;
    const d = this.build(now, path, frames, undefined, 0);
    s.finish(reason, false);
    return d;
  }

  pollProtected(now: number): Datagram | undefined {
    const s = this.s;
    // Path-bound frames first: a response or probe ack must leave on the path it answers.
    for (const p of s.paths) {
      if (p.pendingResponse) {
        const data = p.pendingResponse;
        p.pendingResponse = undefined;
        const frames: Frame[] = [{ kind: 'path-response', data }];
        if (p.challenge && p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100) <= now) frames.push(challengeFrame(now, p));
        if (p.maysend(64)) return this.build(now, p, frames, undefined, 0);
      }
      if (p.pendingProbeAck) {
        const a = p.pendingProbeAck;
        p.pendingProbeAck = undefined;
        if (p.maysend(64)) return this.build(now, p, [{ kind: 'mtu-probe-ack', probeId: a.id, size: a.size }], undefined, 0);
      }
      if (p.challenge && p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100) <= now && p.maysend(64)) {
        if (p.challengeTries >= 5) {
          p.challenge = undefined;
          continue;
        }
        return this.build(now, p, [challengeFrame(now, p)], undefined, 0);
      }
    }
    const primary = s.primaryPath();
    while (this.ackEcho.length) {
      const { path, ack } = this.ackEcho.shift()!;
      if (path.usable) return this.build(now, path, [ack], undefined, 0);
    }
    for (const p of s.paths) if (p.probeDue) return this.pollPing(now, p);
    if (s.copies.length) {
      const d = this.pollCopy(now);
      if (d) return d;
    }
    if (s.confirmed) {
      for (const p of s.paths) {
        if (!p.validated || p.state === 'down') continue;
        const probe = p.mtu.poll(now, this.probeTimeout(p));
        if (probe) return this.build(now, p, [{ kind: 'mtu-probe', probeId: probe.id, size: probe.size }], undefined, probe.size);
      }
    }
    const frames: Frame[] = [];
    const finished = this.hs.finishedFrame();
    const withFinished = finished !== undefined;
    if (finished) frames.push(finished);
    let controlBytes = frames.length ? 33 : 0;
    let nacks = s.acks.takeNacks(now, this.renackMs(), MAX_NACKS);
    // Packets of a session arriving over several paths at once come out of order by the
    // paths' delay difference: a gap is not a loss. The sender detects loss per path instead.
    if (nacks.length && this.health.receivingOnSeveralPaths(now)) nacks = [];
    if (nacks.length) {
      frames.push({ kind: 'nack', packetNumbers: nacks });
      controlBytes += 2 + 4 * nacks.length;
    }
    if (this.feedback.due(now)) {
      frames.push(this.feedback.frame(now));
      controlBytes += 9;
    }
    let opens: number[] | undefined;
    if (s.pendingOpens.size) {
      opens = [];
      for (const id of s.pendingOpens) {
        frames.push(streamOpenFrame(s.outStreams.get(id)!));
        opens.push(id);
        controlBytes += 6;
        if (controlBytes > 600) break;
      }
      for (const id of opens) s.pendingOpens.delete(id);
    }
    let lost: LostFrame[] | undefined;
    if (s.lossReports.due) {
      lost = s.lossReports.take();
      for (const f of lost) {
        frames.push(f);
        controlBytes += lostLength(f);
      }
    }
    if (s.pingDue) {
      frames.push({ kind: 'ping' });
      s.pingDue = false;
      controlBytes += 1;
    }
    // Media: a repair first (it protects what just left), else the next fragment, on the path
    // the bonding mode picks among those with room under their window and pacer.
    let media: DataFrame | FecRepairFrame | undefined;
    let frag: OutFragment | undefined;
    let fecRepair = false;
    let urgent = false;
    const dropFn = s.dropFn;
    const wantAck = s.acks.wantsAck(now);
    const ackRoom = s.acks.highest >= 0 ? PIGGYBACK_ACK : 0;
    let path = primary;
    this.loss.releaseDupes(now);
    this.fec.closeDue(now);
    this.media.setPacing(now);
    const mp = this.media.paths();
    if (mp.length) {
      let minMtu = Infinity;
      for (const p of mp) minMtu = Math.min(minMtu, p.mtu.mtu);
      const maxRoom = minMtu - PROTECTED_HEADER_LEN - TAG_LEN - PIGGYBACK_ACK;
      this.fec.dropOversized(maxRoom);
      const size = this.fec.hasRepair ? this.fec.nextRepairSize() : s.queue.peekSize(now, dropFn) + DATA_FEC_OVERHEAD;
      const room = size + PROTECTED_HEADER_LEN + TAG_LEN + controlBytes + ackRoom;
      const onPath = size > DATA_FEC_OVERHEAD ? s.sched.pick(now, s.bond, mp, size + 40, room) : undefined;
      if (onPath) {
        path = onPath;
        if (this.fec.hasRepair) {
          media = this.fec.takeRepair();
          fecRepair = true;
        } else {
          frag = s.queue.next(now, dropFn)!;
          const m = frag.msg;
          urgent = !!m.retx?.[frag.index] && m.meta.deadline !== undefined && m.meta.deadline - now < 2 * path.rtt.smoothed;
          media = this.dataFrame(now, frag);
          const st = m.stream;
          if (!st.openAcked && !s.pendingOpens.has(st.id) && !(opens && opens.includes(st.id)) && controlBytes + 6 + ackRoom + size <= path.mtu.mtu - 32) {
            frames.push(streamOpenFrame(st));
            (opens ??= []).push(st.id);
          }
        }
      }
    }
    // An ACK rides along only when something that asks for one came in: a media sender hears
    // mostly ACK-only packets, and acking those on every media packet cost 2-4% of the wire.
    if (wantAck || ((frames.length > 0 || media) && s.acks.owesAck)) {
      const ack = s.acks.buildAck(now, media ? PIGGYBACK_RANGES : 32);
      if (ack) {
        frames.unshift(ack);
        // An ACK with nothing else goes back on every path that brought packets since the last
        // one (the same frame on each): each path's packets are then acked over its own return
        // direction, so a slow or lossy link delays or loses only its own acks. Acks riding one
        // shared path made the others look silent, inflated their RTT and cut their rates.
        if (!media) {
          let first = true;
          for (const p of s.paths) {
            if (!p.ackPending || !p.usable) continue;
            if (first) path = p;
            else this.ackEcho.push({ path: p, ack });
            first = false;
          }
        }
        for (const p of s.paths) p.ackPending = false;
      }
    }
    if (frames.length === 0 && !media) return undefined;
    if (withFinished) {
      if (!this.hs.mayRepeatFinished(now, frames.length === 1 && !media)) return undefined;
      this.hs.finishedSent(now, primary.rtt.rto());
    }
    const d = this.build(now, path, frames, media, 0, frag, opens, lost);
    if (fecRepair) s.counters.fecPacketsSent++;
    if (frag) {
      s.counters.dataPacketsSent++;
      this.fec.afterSent(now, frag, media as DataFrame, this.sentFirstCopy);
      const m = frag.msg;
      const targets = s.sched.copyPaths(now, s.bond, s.paths, path, { cls: m.stream.options.class, keyframe: !!m.meta.keyframe, urgent });
      for (const t of targets) {
        s.copies.push({ path: t, frag, frame: media!, until: m.meta.deadline ?? now + 2000 });
      }
    }
    return d;
  }

  /** The next copy some path can take now, as a packet of its own. */
  private pollCopy(now: number): Datagram | undefined {
    const c = this.s.copies.take(now);
    if (!c) return undefined;
    const d = this.build(now, c.path, [], c.frame, 0, c.frag);
    if (d) this.media.countCopy(d.data.length);
    return d;
  }

  /** A PING on a path: a probe of a down path (kept apart from the packets in flight) or an idle path's keepalive. */
  private pollPing(now: number, p: Path): Datagram | undefined {
    p.probeDue = false;
    if (!p.maysend(64)) return undefined;
    const pn = this.loss.nextPn;
    const d = this.build(now, p, [{ kind: 'ping' }], undefined, 0);
    this.health.onPingSent(now, p, pn);
    return d;
  }

  private dataFrame(now: number, fr: OutFragment): DataFrame {
    const m = fr.msg;
    const dl = m.meta.deadline;
    let flags = 0;
    if (m.meta.keyframe) flags |= DATA_FLAG_KEYFRAME;
    if (m.meta.reference !== false) flags |= DATA_FLAG_REFERENCE;
    let fecGroup = 0, fecIndex = 0;
    const firstCopy = !m.retx || !m.retx[fr.index];
    this.sentFirstCopy = firstCopy;
    if (m.retx && m.retx[fr.index]) m.retx[fr.index]!--;
    const a = this.fec.assign(now, fr, firstCopy);
    if (a) {
      flags |= DATA_FLAG_FEC;
      fecGroup = a.group;
      fecIndex = a.index;
    }
    return {
      kind: 'data', flags, streamId: m.stream.id, messageId: m.id, fragIndex: fr.index, fragCount: m.frags.length,
      deadlineOffset: dl === undefined ? NO_DEADLINE : Math.max(0, Math.min(NO_DEADLINE - 1, Math.round(dl - now))),
      timestamp: (m.meta.timestamp ?? 0) >>> 0, fecGroup, fecIndex, payload: m.frags[fr.index]!,
    };
  }

  /**
   * Encodes and protects one PROTECTED packet. `padTo` pads to that many bytes (MTU probes).
   * In 'headers' mode media frames go in the clear section and the rest in the encrypted one.
   * The media frame ends its section (a DATA frame then leaves out its length).
   */
  private build(now: number, path: Path, frames: Frame[], media: Frame | undefined, padTo: number, frag?: OutFragment, opens?: number[], lost?: LostFrame[]): Datagram | undefined {
    const s = this.s;
    const buf = s.scratch;
    const pn = this.loss.nextPn++;
    const w = new Writer(buf);
    const headers = s.mode === 'headers';
    const hdr = encodeShortHeader(w, s.id, pn, this.loss.pnLen(pn), headers ? 0 : -1);
    const hasTag = s.mode !== 'none';
    const limit = Math.min(MAX_DATAGRAM, Math.max(padTo, path.mtu.mtu)) - (hasTag ? TAG_LEN : 0);
    const w2 = new Writer(buf.subarray(0, limit), hdr);
    if (headers && media) encodeFrame(w2, media, true);
    const clearLen = headers ? w2.pos - hdr : 0;
    for (const f of frames) encodeFrame(w2, f);
    if (!headers && media) encodeFrame(w2, media, padTo === 0);
    if (padTo > 0) encodePadding(w2, Math.max(0, padTo - (hasTag ? TAG_LEN : 0) - w2.pos));
    // The smallest datagram a receiver takes is a long header's length (mode 'none' only: a tag alone is longer).
    if (!hasTag && !media && w2.pos < SHORT_HEADER_LEN) encodePadding(w2, SHORT_HEADER_LEN - w2.pos);
    let end = w2.pos;
    if (headers) {
      buf[hdr - 2] = clearLen >>> 8;
      buf[hdr - 1] = clearLen & 0xff;
    }
    if (hasTag) end = s.protection!.seal(buf, pn, hdr + clearLen, end);
    const ackEliciting = media !== undefined || frames.some((f) => f.kind !== 'ack' && f.kind !== 'feedback');
    if (ackEliciting) this.loss.onSent(now, pn, end, path, frag, opens, lost);
    if (media) path.pacer.onSent(now, end);
    path.countSent(now, end, media !== undefined);
    return this.out(now, path, buf.slice(0, end));
  }

  /** Counts one datagram out on `path` (every datagram a session sends goes through here). */
  out(now: number, path: Path, data: Uint8Array): Datagram {
    const s = this.s;
    path.bytesSent += data.length;
    path.lastSent = now;
    path.packetsSent++;
    s.lastSent = now;
    s.counters.packetsSent++;
    s.counters.bytesSent += data.length;
    return { path: path.key, data };
  }
}

function streamOpenFrame(st: OutStream): Frame {
  return { kind: 'stream-open', streamId: st.id, streamClass: CLASS_CODE[st.options.class], reliability: st.options.reliability === 'reliable' ? 0 : 1, priority: st.options.priority };
}

function challengeFrame(now: number, p: Path): Frame {
  p.challengeSentAt = now;
  p.challengeTries++;
  return { kind: 'path-challenge', data: p.challenge! };
}
