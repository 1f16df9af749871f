/**
 * Watches the bytes a WebSocket viewer sends, frame by frame, before the `ws` library reads
 * them, and names what would make that library hold more than it should:
 *
 * - a fragmented data message: `ws` keeps every fragment until the last one as a view on the
 *   socket read buffer it came in (a 1-byte fragment pins a 64 KiB read), so fragments spread
 *   over many reads, with pings as filler, pin far more than the message's size. Viewers
 *   have nothing to say (flv.js and mpegts.js send nothing), so a fragmented message is refused.
 * - one frame spread over too many reads: until a frame is whole, `ws` keeps each read it came
 *   in as a buffer of its own, so a frame trickled a byte per read costs a buffer object per byte.
 *
 * Frames over `maxPayload` are left to `ws` (it closes with 1009). Sans-IO: bytes in, a reason
 * out; the caller closes the connection.
 */
export interface WsInputLimits {
  /** The `ws` server's maxPayload: larger frames are its to refuse. */
  maxPayload: number;
  /** Reads one frame may span. Default 64. */
  maxReadsPerFrame: number;
}

export class WsInputGuard {
  private readonly head = new Uint8Array(14);
  private headLen = 0;
  /** Payload bytes of the current frame still to come (its header is complete). */
  private payloadLeft = 0;
  private readsInFrame = 0;
  /** Set once a frame is too big for this guard to follow: `ws` closes the connection. */
  private stopped = false;

  constructor(private readonly limits: WsInputLimits) {}

  /** Bytes as the socket delivered them; returns a violation, or undefined. */
  push(data: Uint8Array): string | undefined {
    if (this.stopped) return undefined;
    const midFrame = this.headLen > 0 || this.payloadLeft > 0;
    if (midFrame && ++this.readsInFrame > this.limits.maxReadsPerFrame) {
      return `one frame spread over more than ${this.limits.maxReadsPerFrame} reads`;
    }
    let pos = 0;
    let startedHere = false;
    while (pos < data.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, data.length - pos);
        this.payloadLeft -= take;
        pos += take;
        continue;
      }
      if (this.headLen === 0) startedHere = true;
      this.head[this.headLen++] = data[pos++]!;
      const need = headerLength(this.head, this.headLen);
      if (this.headLen < need) continue;
      const r = this.frame();
      if (r !== undefined || this.stopped) return r;
    }
    // A read that ends inside a frame begun in it is that frame's first read.
    if (this.headLen === 0 && this.payloadLeft === 0) this.readsInFrame = 0;
    else if (startedHere) this.readsInFrame = 1;
    return undefined;
  }

  /** A complete header is in `head`. */
  private frame(): string | undefined {
    const h = this.head;
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const len7 = h[1]! & 0x7f;
    const off = 2;
    let length: number;
    if (len7 === 126) length = (h[off]! << 8) | h[off + 1]!;
    else if (len7 === 127) length = Number(new DataView(h.buffer).getBigUint64(off));
    else length = len7;
    this.headLen = 0;
    if (opcode < 8 && (!fin || opcode === 0)) return 'fragmented message (viewers send none)';
    if (length > this.limits.maxPayload) {
      this.stopped = true;
      return undefined;
    }
    this.payloadLeft = length;
    return undefined;
  }
}

/** Header bytes the frame whose first `have` bytes are in `h` needs. */
function headerLength(h: Uint8Array, have: number): number {
  if (have < 2) return 2;
  const len7 = h[1]! & 0x7f;
  const mask = (h[1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + mask;
}
