/**
 * RTP payloads of one H.264 stream (RFC 6184: single NAL unit, STAP-A, FU-A) back into access
 * units. Packets come in sequence order (see ReorderBuffer), each with the count of packets
 * lost just before it; a picture with a lost piece is dropped, and so is every picture after it
 * until the next IDR (a decoder fed a P-frame whose reference is broken shows garbage for the
 * rest of the GOP), while `needKeyframe` tells the caller to send a PLI.
 *
 * Hostile input: every length is checked against the payload, an access unit is capped in
 * bytes and NAL units, and packet types browsers never send (STAP-B, MTAP, FU-B) are dropped
 * and counted.
 */

export const MAX_AU_BYTES = 4 << 20;
export const MAX_AU_NALS = 512;

export interface AccessUnit {
  /** RTP timestamp (90 kHz, 32-bit as on the wire). */
  timestamp: number;
  nals: Uint8Array[];
  keyframe: boolean;
}

export class H264Depacketizer {
  private timestamp: number | undefined;
  private nals: Uint8Array[] = [];
  private bytes = 0;
  /** Pieces of the FU-A NAL unit being put together. */
  private fu: Uint8Array[] | undefined;
  private fuBytes = 0;
  /** The current picture lost a piece: it is dropped when it ends. */
  private broken = false;
  /** Pictures are dropped until the next IDR. */
  private waitKeyframe = true;
  /** The caller should ask the sender for a keyframe (PLI); cleared by takeKeyframeRequest(). */
  private keyframeWanted = false;
  dropped = { packets: 0, pictures: 0 };

  /** One RTP packet; returns the access unit it completed, if any. */
  push(payload: Uint8Array, timestamp: number, marker: boolean, lostBefore: number): AccessUnit | undefined {
    let done: AccessUnit | undefined;
    if (this.timestamp !== undefined && timestamp !== this.timestamp) {
      // A new picture began without the previous one's marker: its last packet was lost.
      done = this.finish(true);
    }
    if (lostBefore > 0) this.lose();
    this.timestamp = timestamp;
    this.take(payload);
    if (marker) {
      const au = this.finish(false);
      if (done && au) this.dropped.pictures++; // two in one call: the earlier was incomplete anyway
      return au ?? done;
    }
    return done;
  }

  /** Whether a PLI should go to the sender (the caller rate-limits them). */
  takeKeyframeRequest(): boolean {
    const w = this.keyframeWanted;
    this.keyframeWanted = false;
    return w;
  }

  private lose(): void {
    this.broken = true;
    this.fu = undefined;
    if (!this.waitKeyframe) this.keyframeWanted = true;
    this.waitKeyframe = true;
  }

  private take(p: Uint8Array): void {
    if (p.length < 1) return void this.dropped.packets++;
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) return this.add(p);
    if (type === 24) {
      // STAP-A: [16-bit size][NAL] ...
      let pos = 1;
      while (pos < p.length) {
        if (pos + 2 > p.length) return this.corrupt();
        const size = (p[pos]! << 8) | p[pos + 1]!;
        pos += 2;
        if (size === 0 || pos + size > p.length) return this.corrupt();
        this.add(p.subarray(pos, pos + size));
        pos += size;
      }
      return;
    }
    if (type === 28) {
      if (p.length < 3) return this.corrupt();
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      if (start) {
        if (this.fu) this.corrupt(); // the previous FU never ended
        this.fu = [new Uint8Array([(p[0]! & 0xe0) | (p[1]! & 0x1f)])];
        this.fuBytes = 1;
      } else if (!this.fu) {
        return this.corrupt(); // a middle piece whose start we never had
      }
      this.fu.push(p.subarray(2));
      this.fuBytes += p.length - 2;
      if (this.fuBytes + this.bytes > MAX_AU_BYTES) return this.corrupt();
      if (end) {
        const nal = new Uint8Array(this.fuBytes);
        let pos = 0;
        for (const piece of this.fu) {
          nal.set(piece, pos);
          pos += piece.length;
        }
        this.fu = undefined;
        this.add(nal);
      }
      return;
    }
    this.dropped.packets++; // STAP-B, MTAP16/24, FU-B, reserved: not sent by browsers
  }

  private corrupt(): void {
    this.dropped.packets++;
    this.lose();
  }

  private add(nal: Uint8Array): void {
    if (this.nals.length >= MAX_AU_NALS || this.bytes + nal.length > MAX_AU_BYTES) return this.corrupt();
    // Copied: the stack's packet buffers are reused once the callback returns.
    this.nals.push(new Uint8Array(nal));
    this.bytes += nal.length;
  }

  private finish(incomplete: boolean): AccessUnit | undefined {
    const nals = this.nals;
    const timestamp = this.timestamp!;
    const broken = this.broken || incomplete || this.fu !== undefined;
    this.nals = [];
    this.bytes = 0;
    this.fu = undefined;
    this.broken = false;
    this.timestamp = undefined;
    if (broken) {
      this.dropped.pictures++;
      if (!this.waitKeyframe) this.keyframeWanted = true;
      this.waitKeyframe = true;
      return undefined;
    }
    if (nals.length === 0) return undefined;
    const keyframe = nals.some((n) => (n[0]! & 0x1f) === 5);
    if (this.waitKeyframe && !keyframe) {
      this.dropped.pictures++;
      this.keyframeWanted = true; // the caller rate-limits PLIs

      return undefined;
    }
    this.waitKeyframe = false;
    return { timestamp, nals, keyframe };
  }
}
