/**
 * The handshake's messages and keys, apart from the session's state machine.
 *
 *   client                                   server
 *   INITIAL(ClientHello, no cookie)  ----->
 *                                    <-----  RETRY(cookie)            (stateless)
 *   INITIAL(ClientHello + cookie)    ----->
 *                                    <-----  SERVER_HELLO(pub, random, server MAC)
 *   PROTECTED(FINISHED(client MAC), data...) ----->
 *                                    <-----  PROTECTED(...)           (server confirmed)
 */
import { Reader, Writer } from '../wire/buf.js';
import { PacketType, VERSION, encodeHeader } from '../wire/header.js';
import { MIN_INITIAL_SIZE, encodeClientHello, type ClientHello } from '../wire/clientHello.js';
import { encodeServerHello } from '../wire/serverHello.js';
import { deriveKeys, handshakeMac, keyPairFromSeed, macEqual, sharedSecret, transcriptHash, type KeyPair, type SessionKeys } from './crypto/keys.js';
import type { Random } from './Random.js';

export interface Established {
  keys: SessionKeys;
  mode: number;
  clientMac: Uint8Array;
}

function sidBytes(sid: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new Writer(out).u64(sid);
  return out;
}

function transcript(sid: bigint, ch: ClientHello, serverMode: number, spub: Uint8Array, srand: Uint8Array): Uint8Array {
  return transcriptHash([sidBytes(sid), Uint8Array.of(ch.mode), ch.publicKey, ch.random, ch.identity, Uint8Array.of(serverMode), spub, srand]);
}

export class ClientHandshake {
  readonly keyPair: KeyPair;
  readonly hello: ClientHello;

  constructor(random: Random, private readonly sessionId: bigint, mode: number, identity: Uint8Array, private readonly psk: Uint8Array) {
    this.keyPair = keyPairFromSeed(random.bytes(32));
    this.hello = { mode, publicKey: this.keyPair.publicKey, random: random.bytes(32), identity, cookie: new Uint8Array(0) };
  }

  /** The INITIAL datagram, padded to 1200 bytes. */
  initialDatagram(): Uint8Array {
    const buf = new Uint8Array(MIN_INITIAL_SIZE);
    const w = new Writer(buf);
    encodeHeader(w, { version: VERSION, type: PacketType.INITIAL, sessionId: this.sessionId, packetNumber: 0, clearLength: 0 });
    encodeClientHello(w, this.hello);
    return buf;
  }

  setCookie(cookie: Uint8Array): void {
    this.hello.cookie = cookie.slice();
  }

  /** Keys if the SERVER HELLO is genuine (its MAC proves the server holds the psk). */
  onServerHello(mode: number, spub: Uint8Array, srand: Uint8Array, mac: Uint8Array): Established | undefined {
    if (mode < this.hello.mode) return undefined;
    const secret = sharedSecret(this.keyPair.privateKey, spub);
    if (!secret) return undefined;
    const t = transcript(this.sessionId, this.hello, mode, spub, srand);
    const keys = deriveKeys(secret, this.psk, t);
    if (!macEqual(mac, handshakeMac(keys.macKey, 'server', t))) return undefined;
    return { keys, mode, clientMac: handshakeMac(keys.macKey, 'client', t) };
  }
}

/** Server side: answers a cookie-validated CLIENT HELLO. Returns undefined for a bad public key. */
export function acceptClientHello(
  random: Random,
  sessionId: bigint,
  hello: ClientHello,
  psk: Uint8Array,
  minMode: number,
): { established: Established; serverHello: Uint8Array } | undefined {
  const kp = keyPairFromSeed(random.bytes(32));
  const secret = sharedSecret(kp.privateKey, hello.publicKey);
  if (!secret) return undefined;
  const mode = Math.max(minMode, hello.mode);
  const srand = random.bytes(32);
  const t = transcript(sessionId, hello, mode, kp.publicKey, srand);
  const keys = deriveKeys(secret, psk, t);
  const buf = new Uint8Array(14 + 1 + 96);
  const w = new Writer(buf);
  encodeHeader(w, { version: VERSION, type: PacketType.SERVER_HELLO, sessionId, packetNumber: 0, clearLength: 0 });
  encodeServerHello(w, { mode, publicKey: kp.publicKey, random: srand, mac: handshakeMac(keys.macKey, 'server', t) });
  return { established: { keys, mode, clientMac: handshakeMac(keys.macKey, 'client', t) }, serverHello: buf };
}

export { Reader };
