/**
 * SERVER HELLO, the body of a SERVER_HELLO packet (packet number 0).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   mode (8)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              server ephemeral X25519 public key (256)         |
 * |              server static X25519 public key (256)            |
 * |              server random (256)                              |
 * |              server MAC (256): HMAC-SHA256(mac key,           |
 * |                "tributary server" || transcript hash)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The static key is the server's long-term key (its fingerprint is what a client pins); the
 * keys are derived from both the ephemeral and the static Diffie-Hellman results, so only the
 * holder of the static private key can produce the MAC.
 */
import { Reader, WireError, Writer } from './buf.js';

export interface ServerHello {
  mode: number;
  publicKey: Uint8Array;
  staticKey: Uint8Array;
  random: Uint8Array;
  mac: Uint8Array;
}

export function encodeServerHello(w: Writer, m: ServerHello): void {
  w.u8(m.mode).bytes(m.publicKey).bytes(m.staticKey).bytes(m.random).bytes(m.mac);
}

export function decodeServerHello(r: Reader): ServerHello {
  const mode = r.u8();
  if (mode > 2) throw new WireError('bad-mode');
  return { mode, publicKey: r.bytes(32), staticKey: r.bytes(32), random: r.bytes(32), mac: r.bytes(32) };
}
