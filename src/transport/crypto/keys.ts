/**
 * The key schedule. Two X25519 results: ephemeral-ephemeral (ee, forward secrecy) and the
 * client's ephemeral with the server's static key (es: only the holder of the server's static
 * private key can compute it). The pre-shared key (the stream's token, or the public open-stream
 * key) salts HKDF. The MACs in SERVER HELLO and FINISHED then prove the server holds both the
 * psk and its static key, and the client holds the psk: a man in the middle who swaps the
 * public keys cannot produce the server's MAC unless he knows the psk AND the client accepts
 * his static key (a pinned fingerprint or a known-hosts entry stops that for open streams).
 *
 *   transcript = SHA-256(session id || CLIENT HELLO fields || SERVER HELLO fields, no MAC)
 *   okm        = HKDF-SHA256(ikm = ee || es, salt = psk, info = "tributary v2" || transcript, 120)
 *   c2s key 32 | c2s iv 12 | s2c key 32 | s2c iv 12 | mac key 32
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

/**
 * Builds an X25519 key pair from 32 random bytes (so a seeded Random gives a repeatable run).
 * Imported as JWK: OpenSSL 3 decodes a PKCS#8 DER key in ~1.3 ms, a JWK in ~0.3 ms, and the
 * server does this once per accepted hello. Node reads only `d` of a private OKP JWK; `x` must
 * be present, so a placeholder goes there and the real public key is taken from the result.
 */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error('an X25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(seed).toString('base64url'), x: PLACEHOLDER_X }, format: 'jwk' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  return { privateKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');

/** The shared secret, or undefined for a public key node refuses (e.g. a low-order point). */
export function sharedSecret(own: KeyObject, peerPublic: Uint8Array): Uint8Array | undefined {
  if (peerPublic.length !== 32) return undefined;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublic).toString('base64url') }, format: 'jwk' });
    return new Uint8Array(diffieHellman({ privateKey: own, publicKey }));
  } catch {
    return undefined;
  }
}

export interface SessionKeys {
  c2sKey: Uint8Array;
  c2sIv: Uint8Array;
  s2cKey: Uint8Array;
  s2cIv: Uint8Array;
  macKey: Uint8Array;
}

export function transcriptHash(parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** `secret` is ee || es (64 bytes). */
export function deriveKeys(secret: Uint8Array, psk: Uint8Array, transcript: Uint8Array): SessionKeys {
  const info = Buffer.concat([Buffer.from('tributary v2'), transcript]);
  const okm = new Uint8Array(hkdfSync('sha256', secret, psk, info, 120));
  return {
    c2sKey: okm.slice(0, 32),
    c2sIv: okm.slice(32, 44),
    s2cKey: okm.slice(44, 76),
    s2cIv: okm.slice(76, 88),
    macKey: okm.slice(88, 120),
  };
}

export function handshakeMac(macKey: Uint8Array, label: 'server' | 'client', transcript: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', macKey).update(`tributary ${label}`).update(transcript).digest());
}

/** A server key's fingerprint: base64url of SHA-256 of its 32 raw public bytes (43 characters). */
export function fingerprint(staticPublicKey: Uint8Array): string {
  return createHash('sha256').update(staticPublicKey).digest('base64url');
}

/** The public half of a private key (e.g. one loaded from a file). */
export function keyPairOf(privateKey: KeyObject): KeyPair {
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  return { privateKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
