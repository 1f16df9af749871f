/**
 * Per-packet AES-256-GCM. Nonce = iv XOR packet number (in the last 4 bytes), so every packet
 * decrypts on its own, in any order. The header and the clear section are the AAD; the rest
 * up to the 16-byte tag is ciphertext:
 *
 *   [ header 16 ][ clear frames (clear length) ][ encrypted frames ][ tag 16 ]
 *
 * Mode 'all' puts every frame in the encrypted section; 'headers' puts DATA and FEC_REPAIR in
 * the clear section (authenticated, not secret) and control frames in the encrypted one;
 * 'none' sends no tag and nothing is checked.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const TAG_LEN = 16;
/** Packet numbers are 32 bits on the wire; the nonce of a number past this would repeat. */
export const MAX_PACKET_NUMBER = 0xffff_ffff;

/** Thrown instead of sealing under a nonce already used: the session must close (or rekey) first. */
export class NonceReuseError extends Error {
  constructor(pn: number, last: number) {
    super(`packet number ${pn} after ${last}: its nonce would repeat under this key`);
    this.name = 'NonceReuseError';
  }
}

export class PacketProtection {
  private readonly sendNonce = Buffer.alloc(12);
  private readonly recvNonce = Buffer.alloc(12);
  /** Highest packet number sealed: numbers must rise, so no nonce is used twice. */
  private lastSealed = -1;
  constructor(
    private readonly sendKey: Uint8Array,
    private readonly sendIv: Uint8Array,
    private readonly recvKey: Uint8Array,
    private readonly recvIv: Uint8Array,
  ) {}

  /**
   * Encrypts buf[aadEnd, end) in place and writes the tag at end. Returns the new end.
   * `pn` must be above every number sealed before and at most MAX_PACKET_NUMBER (else it throws).
   */
  seal(buf: Uint8Array, pn: number, aadEnd: number, end: number): number {
    if (!Number.isInteger(pn) || pn <= this.lastSealed || pn > MAX_PACKET_NUMBER) throw new NonceReuseError(pn, this.lastSealed);
    this.lastSealed = pn;
    nonce(this.sendNonce, this.sendIv, pn);
    const c = createCipheriv('aes-256-gcm', this.sendKey, this.sendNonce);
    c.setAAD(buf.subarray(0, aadEnd));
    if (end > aadEnd) {
      const ct = c.update(buf.subarray(aadEnd, end));
      buf.set(ct, aadEnd);
    }
    c.final();
    buf.set(c.getAuthTag(), end);
    return end + TAG_LEN;
  }

  /** Decrypts in place; false if the tag does not verify (the packet must then be dropped). */
  open(buf: Uint8Array, pn: number, aadEnd: number, len: number): boolean {
    const end = len - TAG_LEN;
    if (end < aadEnd) return false;
    nonce(this.recvNonce, this.recvIv, pn);
    try {
      const d = createDecipheriv('aes-256-gcm', this.recvKey, this.recvNonce);
      d.setAAD(buf.subarray(0, aadEnd));
      d.setAuthTag(buf.subarray(end, len));
      const pt = end > aadEnd ? d.update(buf.subarray(aadEnd, end)) : undefined;
      d.final();
      if (pt) buf.set(pt, aadEnd);
      return true;
    } catch {
      return false;
    }
  }
}

function nonce(out: Buffer, iv: Uint8Array, pn: number): void {
  out.set(iv);
  out[8] = out[8]! ^ (pn >>> 24);
  out[9] = out[9]! ^ ((pn >>> 16) & 0xff);
  out[10] = out[10]! ^ ((pn >>> 8) & 0xff);
  out[11] = out[11]! ^ (pn & 0xff);
}
