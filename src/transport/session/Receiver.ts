/**
 * The receive path. Every check (lengths, version, session id, replay window, AEAD tag, frame
 * syntax, FINISHED) runs before any state changes; a failed check drops the datagram and counts
 * it in stats().dropped[reason]. Nothing throws out. Authenticated frames are then dispatched
 * to the mechanism that owns them.
 */
import { Reader, WireError } from '../../wire/buf.js';
import { MAX_DATAGRAM, PacketType, SHORT_HEADER_LEN, decodeHeader, expandPacketNumber } from '../../wire/header.js';
import { decodeFrames, type Frame } from '../../wire/frame.js';
import type { DataFrame } from '../../wire/data.js';
import { TAG_LEN } from '../crypto/PacketProtection.js';
import type { StreamOptions } from '../api.js';
import { ReplayWindow } from '../ReplayWindow.js';
import { RecvStream, type Delivered } from '../Reassembly.js';
import type { Path } from '../Path.js';
import type { SessionState } from './SessionState.js';
import type { Handshaking } from './Handshaking.js';
import type { LossRecovery } from './LossRecovery.js';
import type { PathHealth } from './PathHealth.js';
import type { FecHooks } from './FecHooks.js';
import type { Feedback } from './Feedback.js';

const CLASS_NAME = ['control', 'audio', 'video'] as const;

export class Receiver {
  private readonly replay = new ReplayWindow();
  private readonly frameScratch = new Uint8Array(MAX_DATAGRAM);
  private readonly rx: Frame[] = [];
  private readonly delivering: Delivered[] = [];
  private readonly deliver = (f: DataFrame) => this.onData(this.now, f, false);
  private now = 0;

  constructor(
    private readonly s: SessionState,
    private readonly hs: Handshaking,
    private readonly loss: LossRecovery,
    private readonly health: PathHealth,
    private readonly fec: FecHooks,
    private readonly feedback: Feedback,
  ) {}

  handleDatagram(now: number, pathKey: string, data: Uint8Array): void {
    try {
      this.receive(now, pathKey, data);
    } catch (e) {
      this.s.drop(e instanceof WireError ? e.reason : 'internal');
    }
  }

  private receive(now: number, pathKey: string, data: Uint8Array): void {
    const s = this.s;
    if (s.state === 'closed') return s.drop('closed');
    if (data.length < SHORT_HEADER_LEN) return s.drop('truncated');
    if (data.length > MAX_DATAGRAM) return s.drop('oversized');
    const r = new Reader(data);
    const h = decodeHeader(r);
    if (h.sessionId !== s.id) return s.drop('wrong-session');
    if (h.type === PacketType.RETRY) return this.hs.onRetry(now, r);
    if (h.type === PacketType.SERVER_HELLO) return this.hs.onServerHello(now, r, pathKey, data.length);
    if (h.type === PacketType.INITIAL) return this.hs.onRepeatedInitial(r, pathKey, data.length);
    if (h.type === PacketType.REFUSE) return this.hs.onRefuse(r);
    if (!s.protection) return s.drop('no-keys');
    // A 16-bit number stands for the one nearest the largest seen; a wrong guess fails the tag.
    const pn = h.pnLen === 2 ? expandPacketNumber(h.packetNumber, this.replay.largestSeen) : h.packetNumber;
    if (!this.replay.check(pn)) return s.drop('replay');
    const hasTag = s.mode !== 'none';
    const hdr = h.headerLen!;
    const bodyEnd = data.length - (hasTag ? TAG_LEN : 0);
    // The clear length is written in mode 'headers' only: nothing is in clear in 'all', all of it in 'none'.
    if ((h.clearLength >= 0) !== (s.mode === 'headers')) return s.drop('bad-length');
    const clearEnd = s.mode === 'none' ? bodyEnd : hdr + Math.max(0, h.clearLength);
    if (bodyEnd < hdr || clearEnd > bodyEnd) return s.drop('bad-length');
    // Decrypt a copy: a forged packet must leave the caller's buffer and our state untouched.
    const buf = this.frameScratch;
    buf.set(data);
    if (hasTag && !s.protection.open(buf, pn, clearEnd, data.length)) return s.drop('auth');
    const frames = this.rx;
    frames.length = 0;
    try {
      // Two sections, each decoded on its own: a frame never spans the clear and encrypted parts.
      decodeFrames(buf, hdr, clearEnd, frames);
      decodeFrames(buf, clearEnd, bodyEnd, frames);
    } catch (e) {
      return s.drop(e instanceof WireError ? `frame-${e.reason}` : 'malformed');
    }
    if (!this.hs.confirm(frames)) return s.drop('auth');
    // Authenticated from here on.
    this.replay.mark(pn);
    if (s.role === 'client' && !s.confirmed) s.confirmed = true;
    s.counters.packetsReceived++;
    s.counters.bytesReceived += data.length;
    s.lastReceived = now;
    let path = s.pathByKey.get(pathKey);
    if (!path) {
      path = s.addPath(pathKey);
      s.challenge(path);
    }
    path.countReceived(now, data.length);
    // A bonded sender brings a down link back only through its probes (hysteresis); otherwise
    // hearing from a path again is enough.
    if (path.state === 'down' && (s.role === 'server' || s.bond === 'single')) path.state = path.validated ? 'active' : 'probing';
    let ackEliciting = false;
    let dataSeen = false;
    // STREAM_OPEN first: in 'headers' mode DATA sits in the clear section, ahead of it on the wire.
    for (let i = 0; i < frames.length; i++) if (frames[i]!.kind === 'stream-open') this.onFrame(now, frames[i]!, path, data.length);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.kind !== 'ack' && f.kind !== 'feedback') ackEliciting = true;
      if (f.kind === 'data' || f.kind === 'fec') dataSeen = true;
      if (f.kind !== 'stream-open') this.onFrame(now, f, path, data.length);
      if (s.isClosed) return;
    }
    s.acks.onPacket(now, pn, ackEliciting);
    if (ackEliciting) path.ackPending = true;
    this.feedback.onPacket(pn, dataSeen, data.length);
  }

  private onFrame(now: number, f: Frame, path: Path, len: number): void {
    const s = this.s;
    switch (f.kind) {
      case 'ping':
      case 'finished':
        return;
      case 'ack': return this.loss.onAck(now, f, path);
      case 'nack': return this.loss.onNack(now, f.packetNumbers);
      case 'data': return this.onData(now, f, true);
      case 'fec':
        this.now = now;
        return this.fec.onRepair(f, this.deliver);
      case 'stream-open':
        if (!s.inStreams.has(f.streamId)) {
          if (s.inStreams.size >= 1024) return s.drop('too-many-streams');
          const options: StreamOptions = { class: CLASS_NAME[f.streamClass]!, reliability: f.reliability === 0 ? 'reliable' : 'deadline', priority: f.priority };
          s.inStreams.set(f.streamId, new RecvStream(f.streamId, options));
          s.emit({ type: 'stream-opened', streamId: f.streamId, options });
        }
        return;
      case 'mtu-probe':
        path.pendingProbeAck = { id: f.probeId, size: len };
        return;
      case 'mtu-probe-ack':
        path.mtu.onProbeAck(now, f.probeId, f.size);
        return;
      case 'close':
        s.finish(f.reason, true);
        return;
      case 'path-challenge':
        path.pendingResponse = f.data.slice();
        return;
      case 'path-response': return this.health.onPathResponse(now, f.data);
      case 'feedback': return this.feedback.onReport(now, f);
      case 'lost': return s.lossReports.onReport(f);
    }
  }

  private onData(now: number, f: DataFrame, fromWire: boolean): void {
    const s = this.s;
    if (fromWire) {
      this.now = now;
      this.fec.onSource(f, this.deliver);
    }
    const st = s.inStreams.get(f.streamId);
    if (!st) return s.drop('unknown-stream');
    let buffered = 0;
    for (const x of s.inStreams.values()) buffered += x.buffered;
    const out = this.delivering;
    out.length = 0;
    const refused = st.onData(now, f, s.o.maxBufferBytes - buffered, out);
    if (refused) s.drop(refused);
    for (const m of out) s.emit({ type: 'message', streamId: m.streamId, messageId: m.messageId, data: m.data, meta: m.meta });
  }
}
