/**
 * Datagrams over a byte stream (the TCP fallback): each datagram is sent as a 2-byte big-endian
 * length followed by that many bytes. The decoder never holds more than one maximal frame plus
 * one read, and rejects a length of 0 or over `maxFrame` before buffering any of it.
 */
export class FrameTooLargeError extends Error {
  constructor(readonly length: number, readonly max: number) {
    super(`stream frame length ${length} outside 1..${max}`);
    this.name = 'FrameTooLargeError';
  }
}

export function encodeFrame(data: Uint8Array): Buffer {
  if (data.length === 0 || data.length > 0xffff) throw new RangeError(`datagram of ${data.length} bytes cannot be framed`);
  const out = Buffer.allocUnsafe(2 + data.length);
  out.writeUInt16BE(data.length, 0);
  out.set(data, 2);
  return out;
}

export class FrameDecoder {
  private readonly buf: Buffer;
  private have = 0;

  constructor(readonly maxFrame: number) {
    this.buf = Buffer.allocUnsafe(2 + maxFrame);
  }

  /**
   * Feeds bytes read from the stream; calls `onFrame` for each complete frame (the caller may
   * keep it). Throws FrameTooLargeError on a bad length: the caller closes.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.have < 2) {
        const n = Math.min(2 - this.have, chunk.length - off);
        this.buf.set(chunk.subarray(off, off + n), this.have);
        this.have += n;
        off += n;
        if (this.have < 2) return;
        const len = this.buf.readUInt16BE(0);
        if (len === 0 || len > this.maxFrame) throw new FrameTooLargeError(len, this.maxFrame);
      }
      const len = this.buf.readUInt16BE(0);
      const need = 2 + len - this.have;
      const n = Math.min(need, chunk.length - off);
      if (this.have === 2 && n === len) {
        // The whole frame is in this chunk: hand it over without copying.
        off += n;
        this.have = 0;
        onFrame(chunk.subarray(off - n, off));
        continue;
      }
      this.buf.set(chunk.subarray(off, off + n), this.have);
      this.have += n;
      off += n;
      if (this.have === 2 + len) {
        this.have = 0;
        // A copy: the core may keep references to received bytes (reassembly).
        onFrame(Uint8Array.prototype.slice.call(this.buf, 2, 2 + len));
      }
    }
  }
}
