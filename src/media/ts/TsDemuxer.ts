import { MediaParseError, type DemuxOutput } from '../frame.js';
import { parsePat, parsePmt, STREAM_TYPE_AAC, STREAM_TYPE_H264 } from './psi.js';
import { parsePesHeader } from './pes.js';
import { H264EsReader } from './H264EsReader.js';
import { AdtsEsReader } from './AdtsEsReader.js';

export const TS_PACKET = 188;
const SYNC = 0x47;
const WRAP = 2 ** 33;

export interface TsDemuxerOptions {
  /** A video PES larger than this is dropped. Default 8 MiB. */
  maxVideoPes?: number;
  /** An audio PES larger than this is dropped. Default 256 KiB. */
  maxAudioPes?: number;
}

export interface TsDemuxerStats {
  packets: number;
  /** Times the sync byte was lost and searched for again. */
  resyncs: number;
  /** Continuity counter gaps: the PES in progress on that PID is dropped. */
  ccErrors: number;
  /** PES packets dropped: oversize, broken header, no PTS, cut by a gap, or bad elementary stream. */
  droppedPes: number;
  /** PSI sections refused (CRC, lengths). */
  badPsi: number;
  /** PES without a stated length emitted at their stuffed last packet (not the next start). */
  stuffedEnds: number;
  /** A stuffed packet that turned out not to end its PES: that PID no longer ends on stuffing. */
  falseStuffedEnds: number;
}

/**
 * Stuffed packets, each followed by a new PES, seen on a PID before its stuffing is taken as
 * the end of a PES without a stated length.
 */
const STUFFING_TRUST = 3;

interface PesAssembly {
  kind: 'video' | 'audio';
  /** Grows by doubling up to the PES limit; reused from one PES to the next. */
  buf: Uint8Array;
  size: number;
  started: boolean;
  /** PES_packet_length + 6 when the header states it, else 0 (flush at next unit start). */
  expected: number;
  cc: number;
  broken: boolean;
  lastTs?: number;
  base: number;
  /**
   * Whether a stuffed packet ends a PES on this PID: counts up the times one was followed by
   * a new PES (trusted at STUFFING_TRUST), -1 once one was followed by more of the same PES.
   */
  stuffingEnds: number;
  /** The last packet of this PID carried adaptation-field stuffing and payload. */
  lastStuffed: boolean;
}

/**
 * Incremental MPEG-TS demuxer for one program with H.264 video and ADTS AAC audio: push bytes in
 * any chunking, get DemuxOutput[] back. It never throws on input: broken packets, sections and
 * PES are dropped and counted in `stats`; lost sync is searched for again. Memory is bounded by
 * one partial packet plus one PES per stream, each capped. Timestamps are unwrapped across the
 * 33-bit rollover and converted to ms.
 */
export class TsDemuxer {
  readonly stats: TsDemuxerStats = { packets: 0, resyncs: 0, ccErrors: 0, droppedPes: 0, badPsi: 0, stuffedEnds: 0, falseStuffedEnds: 0 };
  private readonly maxVideo: number;
  private readonly maxAudio: number;
  private readonly rest = new Uint8Array(TS_PACKET);
  private restLen = 0;
  private pmtPid = -1;
  private readonly streams = new Map<number, PesAssembly>();
  private readonly video = new H264EsReader();
  private readonly audio = new AdtsEsReader();

  constructor(options: TsDemuxerOptions = {}) {
    this.maxVideo = options.maxVideoPes ?? 8 * 1024 * 1024;
    this.maxAudio = options.maxAudioPes ?? 256 * 1024;
  }

  /** Elementary-stream level drops (frames before config, cut ADTS frames). */
  get esDropped(): number {
    return this.video.dropped + this.audio.dropped;
  }

  push(chunk: Uint8Array): DemuxOutput[] {
    const out: DemuxOutput[] = [];
    let pos = 0;
    if (this.restLen > 0) {
      const need = TS_PACKET - this.restLen;
      const n = Math.min(need, chunk.length);
      this.rest.set(chunk.subarray(0, n), this.restLen);
      this.restLen += n;
      pos = n;
      if (this.restLen < TS_PACKET) return out;
      this.restLen = 0;
      this.packet(this.rest, out);
    }
    while (pos < chunk.length) {
      if (chunk[pos] !== SYNC) {
        const next = chunk.indexOf(SYNC, pos + 1);
        this.stats.resyncs++;
        if (next < 0) return out;
        pos = next;
        continue;
      }
      if (pos + TS_PACKET > chunk.length) {
        this.rest.set(chunk.subarray(pos), 0);
        this.restLen = chunk.length - pos;
        return out;
      }
      this.packet(chunk.subarray(pos, pos + TS_PACKET), out);
      pos += TS_PACKET;
    }
    return out;
  }

  /** Ends the input: a PES without a stated length still in progress is emitted. */
  flush(): DemuxOutput[] {
    const out: DemuxOutput[] = [];
    for (const s of this.streams.values()) this.finishPes(s, out);
    return out;
  }

  private packet(p: Uint8Array, out: DemuxOutput[]): void {
    if (p[0] !== SYNC) {
      // Only reachable for the carried-over partial packet; its bytes are lost.
      this.stats.resyncs++;
      return;
    }
    this.stats.packets++;
    if (p[1]! & 0x80) return; // transport_error_indicator
    const unitStart = (p[1]! & 0x40) !== 0;
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    const afc = (p[3]! >> 4) & 3;
    const cc = p[3]! & 0x0f;
    let off = 4;
    if (afc & 2) off += 1 + p[4]!;
    if (!(afc & 1) || off >= TS_PACKET) return;
    const payload = p.subarray(off);
    if (pid === 0) return this.psi(payload, unitStart, true);
    if (pid === this.pmtPid) return this.psi(payload, unitStart, false);
    const s = this.streams.get(pid);
    if (!s) return;
    if (!unitStart && s.lastStuffed && cc === s.cc) return; // the stuffed packet sent twice
    this.learnStuffing(s, unitStart, cc);
    s.lastStuffed = (afc & 2) !== 0 && hasStuffing(p);
    if (!unitStart) {
      if (!s.started) return;
      if (cc === s.cc) return; // duplicate packet
      if (cc !== ((s.cc + 1) & 0x0f)) {
        this.stats.ccErrors++;
        s.broken = true;
      }
    } else {
      this.finishPes(s, out);
    }
    s.cc = cc;
    if (s.broken) return;
    const limit = s.kind === 'video' ? this.maxVideo : this.maxAudio;
    if (s.size + payload.length > limit) {
      s.broken = true;
      return;
    }
    if (unitStart && payload.length >= 6) {
      const len = (payload[4]! << 8) | payload[5]!;
      s.expected = len === 0 ? 0 : len + 6;
    }
    if (s.size + payload.length > s.buf.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(s.buf.length * 2, s.size + payload.length)));
      grown.set(s.buf.subarray(0, s.size));
      s.buf = grown;
    }
    s.buf.set(payload, s.size);
    s.size += payload.length;
    s.started = true;
    if (s.expected > 0 && s.size >= s.expected) this.finishPes(s, out);
    else if (s.expected === 0 && s.lastStuffed && s.stuffingEnds >= STUFFING_TRUST) {
      // A PES without a stated length (ffmpeg writes video so) otherwise waits for the next
      // one to begin: a frame interval, and more if the caller sends that one later.
      this.stats.stuffedEnds++;
      this.finishPes(s, out);
    }
  }

  /**
   * ISO/IEC 13818-1 (2.4.3.5) stuffs a PES-carrying packet only when the PES has too little
   * data left to fill it, i.e. in its last packet. A muxer might still stuff elsewhere, so it
   * is learnt per PID: trusted after a few stuffed packets each followed by a new PES, and
   * given up for good at the first followed by more of the same PES (that one frame, emitted
   * early, is then cut; the rest of it is dropped and counted). Only the packet right after
   * (continuity counter + 1) is evidence: after a lost packet either kind could follow.
   */
  private learnStuffing(s: PesAssembly, unitStart: boolean, cc: number): void {
    if (!s.lastStuffed || s.stuffingEnds < 0 || cc !== ((s.cc + 1) & 0x0f)) return;
    if (unitStart) {
      if (s.stuffingEnds < STUFFING_TRUST) s.stuffingEnds++;
      return;
    }
    if (s.stuffingEnds >= STUFFING_TRUST) {
      this.stats.falseStuffedEnds++;
      this.stats.droppedPes++;
    }
    s.stuffingEnds = -1;
  }

  private psi(payload: Uint8Array, unitStart: boolean, pat: boolean): void {
    // Sections are taken from a single packet: PAT/PMT of one program always fit in one.
    if (!unitStart) return;
    const pointer = payload[0]!;
    if (1 + pointer >= payload.length) {
      this.stats.badPsi++;
      return;
    }
    const sec = payload.subarray(1 + pointer);
    try {
      if (pat) {
        const pmt = parsePat(sec);
        if (pmt !== undefined) this.pmtPid = pmt;
        return;
      }
      const { streams } = parsePmt(sec);
      const videoPid = streams.find((s) => s.streamType === STREAM_TYPE_H264)?.pid;
      const audioPid = streams.find((s) => s.streamType === STREAM_TYPE_AAC)?.pid;
      for (const pid of [...this.streams.keys()]) if (pid !== videoPid && pid !== audioPid) this.streams.delete(pid);
      if (videoPid !== undefined && !this.streams.has(videoPid)) this.streams.set(videoPid, newAssembly('video'));
      if (audioPid !== undefined && audioPid !== videoPid && !this.streams.has(audioPid)) this.streams.set(audioPid, newAssembly('audio'));
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.stats.badPsi++;
    }
  }

  private finishPes(s: PesAssembly, out: DemuxOutput[]): void {
    const started = s.started;
    const broken = s.broken;
    const size = s.size;
    s.started = false;
    s.expected = 0;
    s.broken = false;
    s.size = 0;
    if (!started) return;
    if (broken) {
      this.stats.droppedPes++;
      return;
    }
    // The readers copy what they keep, so the buffer can be reused for the next PES.
    const pes = s.buf.subarray(0, size);
    try {
      const h = parsePesHeader(pes);
      if (h.pts === undefined) throw new MediaParseError('PES without PTS');
      const dts = this.unwrap(s, h.dts!);
      const pts = dts + ((h.pts - h.dts! + WRAP) % WRAP);
      const body = pes.subarray(h.payloadStart);
      if (s.kind === 'video') this.video.read(body, pts / 90, dts / 90, out);
      else this.audio.read(body, pts / 90, out);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.stats.droppedPes++;
    }
  }

  /** 33-bit timestamps made monotonic across rollover (a jump back of over half the range). */
  private unwrap(s: PesAssembly, ts: number): number {
    if (s.lastTs !== undefined) {
      const prev = s.lastTs % WRAP;
      if (ts < prev && prev - ts > WRAP / 2) s.base += WRAP;
      else if (ts > prev && ts - prev > WRAP / 2 && s.base > 0) s.base -= WRAP;
    }
    const full = s.base + ts;
    s.lastTs = full;
    return full;
  }
}

function newAssembly(kind: 'video' | 'audio'): PesAssembly {
  return { kind, buf: new Uint8Array(kind === 'video' ? 64 * 1024 : 4096), size: 0, started: false, expected: 0, cc: 0, broken: false, base: 0, stuffingEnds: 0, lastStuffed: false };
}

/**
 * Whether a packet with an adaptation field and a payload carries stuffing in it: a field of
 * length 0 (one stuffing byte, the length itself) or longer than its flags' fields need.
 */
function hasStuffing(p: Uint8Array): boolean {
  const len = p[4]!;
  if (len === 0) return true;
  const flags = p[5]!;
  let need = 1;
  if (flags & 0x10) need += 6; // PCR
  if (flags & 0x08) need += 6; // OPCR
  if (flags & 0x04) need += 1; // splice countdown
  if (flags & 0x02) {
    if (5 + need >= TS_PACKET) return false;
    need += 1 + p[4 + 1 + need]!; // private data length + data
  }
  if (flags & 0x01) {
    if (5 + need >= TS_PACKET) return false;
    need += 1 + p[4 + 1 + need]!; // extension length + extension
  }
  return len > need;
}
