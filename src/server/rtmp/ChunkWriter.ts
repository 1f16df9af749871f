import type { RtmpMessage } from './messages.js';

const MAX_FMT0_TIMESTAMP = 0xffffff;
const EMPTY = new Uint8Array(0);

/**
 * Splits messages into chunks: a type-0 header on the first chunk, type-3 headers after it,
 * the extended timestamp repeated on every chunk when used (what ffmpeg and librtmp expect).
 * Only chunk stream ids 2..63 (one-byte basic header) are written; this server picks its own.
 */
export class ChunkWriter {
  /** Our outgoing chunk size; change it only right after sending Set Chunk Size. */
  chunkSize = 128;

  /**
   * The message's payload is `head` followed by `body` (a tag-body header and a frame's data,
   * so a frame is copied once, straight into the chunks).
   */
  encode(msg: Omit<RtmpMessage, 'payload'>, body: Uint8Array, head: Uint8Array = EMPTY): Uint8Array {
    const { csid, type, streamId } = msg;
    const length = head.length + body.length;
    if (csid < 2 || csid > 63) throw new RangeError(`csid ${csid} outside 2..63`);
    if (length > 0xffffff) throw new RangeError(`message of ${length} bytes exceeds the 24-bit length field`);
    const ts = msg.timestamp >>> 0;
    const ext = ts >= MAX_FMT0_TIMESTAMP;
    const chunks = Math.max(1, Math.ceil(length / this.chunkSize));
    const extra = ext ? 4 : 0;
    const out = new Uint8Array(12 + extra + length + (chunks - 1) * (1 + extra));
    const view = new DataView(out.buffer);
    const field = ext ? MAX_FMT0_TIMESTAMP : ts;
    out[0] = csid;
    out[1] = (field >>> 16) & 0xff;
    out[2] = (field >>> 8) & 0xff;
    out[3] = field & 0xff;
    out[4] = (length >>> 16) & 0xff;
    out[5] = (length >>> 8) & 0xff;
    out[6] = length & 0xff;
    out[7] = type;
    view.setUint32(8, streamId >>> 0, true);
    let p = 12;
    if (ext) {
      view.setUint32(p, ts);
      p += 4;
    }
    for (let off = 0; off < length; off += this.chunkSize) {
      if (off > 0) {
        out[p++] = 0xc0 | csid;
        if (ext) {
          view.setUint32(p, ts);
          p += 4;
        }
      }
      const end = Math.min(length, off + this.chunkSize);
      if (off < head.length) out.set(head.subarray(off, Math.min(end, head.length)), p);
      if (end > head.length) out.set(body.subarray(Math.max(0, off - head.length), end - head.length), p + Math.max(0, head.length - off));
      p += end - off;
    }
    return out;
  }
}
