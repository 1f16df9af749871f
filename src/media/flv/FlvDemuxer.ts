import { MediaParseError, type DemuxOutput } from '../frame.js';
import { parseAudioTag, parseVideoTag } from './tagBody.js';
import { parseScriptTag } from './scriptTag.js';
import { FLV_TAG_AUDIO, FLV_TAG_HEADER_LENGTH, FLV_TAG_SCRIPT, FLV_TAG_VIDEO } from './FlvMuxer.js';

export interface FlvDemuxerOptions {
  /** Tags with a larger body are refused (the stream is failed). Default 16 MiB. */
  maxTagSize?: number;
  /** False when the bytes start at the first tag, as after an RTMP-style handoff. Default true. */
  expectHeader?: boolean;
}

export interface FlvDemuxerStats {
  tags: number;
  /** Tags whose body did not parse (MediaParseError) or whose type is unknown/encrypted: skipped. */
  dropped: number;
}

const HEADER_LENGTH = 9;
/** A header's DataOffset beyond this is a lie (the FLV 1 header is 9 bytes). */
const MAX_HEADER_OFFSET = 1024;

/**
 * Incremental FLV demuxer: push bytes in any chunking, get DemuxOutput[] back.
 *
 * Calling rules: a broken body is dropped and counted (the tag framing still holds); broken
 * framing (bad signature, a tag size above the limit) throws MediaParseError and every later
 * push throws too, since FLV has no reliable resync point: the caller closes the input.
 * Buffered bytes never exceed one tag plus its header, and never a claimed size above the limit.
 * Frame payloads may be views into pushed chunks: do not reuse a chunk after pushing it.
 */
export class FlvDemuxer {
  readonly stats: FlvDemuxerStats = { tags: 0, dropped: 0 };
  hasVideo = false;
  hasAudio = false;
  private readonly maxTagSize: number;
  private chunks: Uint8Array[] = [];
  private pending = 0;
  private state: 'header' | 'skip' | 'tag' | 'failed';
  private skipBytes = 0;
  private failure = '';

  constructor(options: FlvDemuxerOptions = {}) {
    this.maxTagSize = options.maxTagSize ?? 16 * 1024 * 1024;
    this.state = options.expectHeader === false ? 'tag' : 'header';
  }

  push(chunk: Uint8Array): DemuxOutput[] {
    if (this.state === 'failed') throw new MediaParseError(this.failure);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.pending += chunk.length;
    }
    const out: DemuxOutput[] = [];
    try {
      this.drain(out);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.state = 'failed';
      this.failure = err.message;
      this.chunks = [];
      this.pending = 0;
      throw err;
    }
    return out;
  }

  /** Bytes held waiting for the rest of a tag. */
  get buffered(): number {
    return this.pending;
  }

  private drain(out: DemuxOutput[]): void {
    for (;;) {
      if (this.state === 'header') {
        if (this.pending < HEADER_LENGTH) return;
        const h = this.take(HEADER_LENGTH);
        if (h[0] !== 0x46 || h[1] !== 0x4c || h[2] !== 0x56) throw new MediaParseError('not an FLV stream (no "FLV" signature)');
        this.hasAudio = (h[4]! & 4) !== 0;
        this.hasVideo = (h[4]! & 1) !== 0;
        const offset = ((h[5]! << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!) >>> 0;
        if (offset < HEADER_LENGTH || offset > MAX_HEADER_OFFSET) throw new MediaParseError(`FLV header DataOffset ${offset}`);
        this.skipBytes = offset - HEADER_LENGTH + 4; // rest of the header, then PreviousTagSize0
        this.state = 'skip';
      } else if (this.state === 'skip') {
        if (this.pending < this.skipBytes) return;
        this.take(this.skipBytes);
        this.state = 'tag';
      } else {
        if (this.pending < FLV_TAG_HEADER_LENGTH) return;
        const h = this.peek(FLV_TAG_HEADER_LENGTH);
        const size = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
        if (size > this.maxTagSize) throw new MediaParseError(`FLV tag of ${size} bytes exceeds the ${this.maxTagSize}-byte limit`);
        const whole = FLV_TAG_HEADER_LENGTH + size + 4;
        if (this.pending < whole) return;
        const tag = this.take(whole);
        const ts = (((tag[7]! << 24) | (tag[4]! << 16) | (tag[5]! << 8) | tag[6]!) >>> 0);
        this.stats.tags++;
        this.parseTag(tag[0]!, tag.subarray(FLV_TAG_HEADER_LENGTH, FLV_TAG_HEADER_LENGTH + size), ts, out);
      }
    }
  }

  private parseTag(typeByte: number, body: Uint8Array, ts: number, out: DemuxOutput[]): void {
    // Bit 5 is the "filter" (encrypted) flag; encrypted tags cannot be used.
    const type = typeByte & 0x3f;
    try {
      let res: DemuxOutput[];
      if (type === FLV_TAG_VIDEO) res = parseVideoTag(body, ts);
      else if (type === FLV_TAG_AUDIO) res = parseAudioTag(body, ts);
      else if (type === FLV_TAG_SCRIPT) res = parseScriptTag(body, ts);
      else {
        this.stats.dropped++;
        return;
      }
      for (const r of res) out.push(r);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.stats.dropped++;
    }
  }

  /** The first n buffered bytes as one contiguous view, merging chunks only when a unit spans them. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const merged = new Uint8Array(this.pending);
    let pos = 0;
    for (const c of this.chunks) {
      merged.set(c, pos);
      pos += c.length;
    }
    this.chunks = [merged];
    return merged;
  }

  private take(n: number): Uint8Array {
    const buf = this.peek(n);
    const unit = buf.subarray(0, n);
    if (buf.length === n) this.chunks.shift();
    else this.chunks[0] = buf.subarray(n);
    this.pending -= n;
    return unit;
  }
}
