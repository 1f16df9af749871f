/**
 * AES-CTR over data packet payloads, as HaiCrypt does it: the counter block is
 * (salt[0..13] XOR (0...0 | packet sequence number at bytes 10..13)) | 16-bit block counter 0.
 * Encryption and decryption are the same operation. Holds the even and odd stream keys.
 */
import { createCipheriv } from 'node:crypto';
import type { KeySpec } from '../packet.js';

export class PayloadCipher {
  private even: Buffer | undefined;
  private odd: Buffer | undefined;

  constructor(
    private salt: Uint8Array,
    keys: { even?: Buffer; odd?: Buffer },
  ) {
    this.even = keys.even;
    this.odd = keys.odd;
  }

  /** A key refresh (in-session KMREQ) brings a new salt and key(s). */
  update(salt: Uint8Array, keys: { even?: Buffer; odd?: Buffer }): void {
    this.salt = salt;
    if (keys.even) this.even = keys.even;
    if (keys.odd) this.odd = keys.odd;
  }

  /** The key a sender uses: even unless only an odd one is known. */
  get sendKey(): KeySpec {
    return this.even ? 1 : 2;
  }

  has(spec: KeySpec): boolean {
    return spec === 1 ? this.even !== undefined : spec === 2 ? this.odd !== undefined : false;
  }

  /** Undefined when the packet names a key we do not hold. */
  apply(spec: KeySpec, seq: number, payload: Uint8Array): Uint8Array | undefined {
    const key = spec === 1 ? this.even : spec === 2 ? this.odd : undefined;
    if (!key) return undefined;
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(seq >>> 0, 10);
    for (let i = 0; i < 14; i++) iv[i] = iv[i]! ^ this.salt[i]!;
    const c = createCipheriv(`aes-${key.length * 8}-ctr`, key, iv);
    return new Uint8Array(Buffer.concat([c.update(payload), c.final()]));
  }
}
