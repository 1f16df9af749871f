/**
 * The keying material message (HaiCrypt KMmsg, draft-sharabayko-srt 3.2.2) and how libsrt
 * derives and wraps keys:
 *
 *  |0|Vers |  PT   |             Sign (0x2029)     |   resv    |KK |
 *  |                              KEKI (0)                         |
 *  |    Cipher     |      Auth     |      SE       |     Resv1     |
 *  |             Resv2             |     Slen/4    |     Klen/4    |
 *  |                         Salt (Slen)                           |
 *  |            Wrap: 8-byte ICV + SEK(s) (even first), RFC 3394   |
 *
 * KEK = PBKDF2-HMAC-SHA1(passphrase, last 8 bytes of the salt, 2048 iterations, Klen).
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { SrtParseError } from '../packet.js';

export const KM_SIGN = 0x2029;
const CIPHER_AES_CTR = 2;
const SE_TSSRT = 2;
const PBKDF2_ITERATIONS = 2048;
const PBKDF2_SALT = 8;
const WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

export interface KeyMaterial {
  /** 1: even key present, 2: odd, 3: both. */
  keys: 1 | 2 | 3;
  salt: Uint8Array;
  keyLength: 16 | 24 | 32;
  wrapped: Uint8Array;
}

export function parseKm(msg: Uint8Array): KeyMaterial {
  if (msg.length < 16) throw new SrtParseError('key material shorter than 16 bytes');
  const version = (msg[0]! >> 4) & 7;
  const pt = msg[0]! & 0xf;
  const sign = (msg[1]! << 8) | msg[2]!;
  if (version !== 1 || pt !== 2 || sign !== KM_SIGN) throw new SrtParseError('not a key material message');
  const keys = msg[3]! & 3;
  if (keys === 0) throw new SrtParseError('key material carries no key');
  if (msg[8] !== CIPHER_AES_CTR) throw new SrtParseError(`cipher ${msg[8]} unsupported (AES-CTR only)`);
  const slen = msg[14]! * 4;
  const klen = msg[15]! * 4;
  if (klen !== 16 && klen !== 24 && klen !== 32) throw new SrtParseError(`key length ${klen} unsupported`);
  if (slen !== 16) throw new SrtParseError(`salt length ${slen} unsupported`);
  const n = keys === 3 ? 2 : 1;
  const wrapLen = 8 + n * klen;
  if (msg.length < 16 + slen + wrapLen) throw new SrtParseError('key material truncated');
  return { keys: keys as 1 | 2 | 3, salt: msg.slice(16, 16 + slen), keyLength: klen, wrapped: msg.slice(16 + slen, 16 + slen + wrapLen) };
}

export function buildKm(km: KeyMaterial): Uint8Array {
  const out = new Uint8Array(16 + km.salt.length + km.wrapped.length);
  out[0] = 0x12; // version 1, packet type 2 (KM)
  out[1] = KM_SIGN >> 8;
  out[2] = KM_SIGN & 0xff;
  out[3] = km.keys;
  out[8] = CIPHER_AES_CTR;
  out[10] = SE_TSSRT;
  out[14] = km.salt.length / 4;
  out[15] = km.keyLength / 4;
  out.set(km.salt, 16);
  out.set(km.wrapped, 16 + km.salt.length);
  return out;
}

export function deriveKek(passphrase: string, salt: Uint8Array, keyLength: number): Buffer {
  return pbkdf2Sync(passphrase, salt.subarray(salt.length - PBKDF2_SALT), PBKDF2_ITERATIONS, keyLength, 'sha1');
}

/** The stream keys, even and/or odd; undefined when the passphrase is wrong (the wrap's integrity check fails). */
export function unwrapKeys(km: KeyMaterial, passphrase: string): { even?: Buffer; odd?: Buffer } | undefined {
  const kek = deriveKek(passphrase, km.salt, km.keyLength);
  let plain: Buffer;
  try {
    const d = createDecipheriv(`id-aes${km.keyLength * 8}-wrap`, kek, WRAP_IV);
    plain = Buffer.concat([d.update(km.wrapped), d.final()]);
  } catch {
    return undefined;
  }
  const k = km.keyLength;
  if (km.keys === 3) return { even: plain.subarray(0, k), odd: plain.subarray(k, 2 * k) };
  return km.keys === 1 ? { even: plain.subarray(0, k) } : { odd: plain.subarray(0, k) };
}

/** A fresh KM message for one even key (what a caller with a passphrase sends; used by tests and the bench). */
export function makeKm(passphrase: string, keyLength: 16 | 24 | 32 = 16): { km: KeyMaterial; key: Buffer } {
  const salt = randomBytes(16);
  const key = randomBytes(keyLength);
  const kek = deriveKek(passphrase, salt, keyLength);
  const c = createCipheriv(`id-aes${keyLength * 8}-wrap`, kek, WRAP_IV);
  const wrapped = Buffer.concat([c.update(key), c.final()]);
  return { km: { keys: 1, salt, keyLength, wrapped }, key };
}
