/**
 * The handshake's messages and keys, apart from the session's state machine.
 *
 *   client                                   server
 *   INITIAL(ClientHello, no cookie)  ----->
 *                                    <-----  RETRY(cookie)            (stateless)
 *   INITIAL(ClientHello + cookie)    ----->
 *                                    <-----  SERVER_HELLO(eph pub, static pub, random, MAC)
 *                                            or REFUSE(code, reason)
 *   PROTECTED(FINISHED(client MAC), data...) ----->
 *                                    <-----  PROTECTED(...)           (server confirmed)
 */
import { Reader, Writer } from '../wire/buf.js';
import { PacketType, SHORT_HEADER_LEN, VERSION, encodeHeader } from '../wire/header.js';
import { MIN_INITIAL_SIZE, encodeClientHello, type ClientHello } from '../wire/clientHello.js';
import { encodeServerHello, type ServerHello } from '../wire/serverHello.js';
import { encodeRefuse, refuseLength } from '../wire/refuse.js';
import { deriveKeys, handshakeMac, keyPairFromSeed, macEqual, sharedSecret, transcriptHash, type KeyPair, type SessionKeys } from './crypto/keys.js';
import type { Random } from './Random.js';

export interface Established {
  keys: SessionKeys;
  mode: number;
  clientMac: Uint8Array;
}

/**
 * Client: decides whether a server's static key (already proven by the SERVER HELLO's MAC) is
 * the one it should be talking to. Returns why not (the session closes with that reason), or
 * undefined to go on. Pinning and trust on first use live behind this.
 */
export type ServerKeyCheck = (staticPublicKey: Uint8Array) => string | undefined;

function sidBytes(sid: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new Writer(out).u64(sid);
  return out;
}

function transcript(sid: bigint, ch: ClientHello, serverMode: number, epub: Uint8Array, spub: Uint8Array, srand: Uint8Array): Uint8Array {
  return transcriptHash([sidBytes(sid), Uint8Array.of(ch.mode), ch.publicKey, ch.random, ch.identity, Uint8Array.of(serverMode), epub, spub, srand]);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class ClientHandshake {
  readonly keyPair: KeyPair;
  readonly hello: ClientHello;

  constructor(random: Random, private readonly sessionId: bigint, mode: number, identity: Uint8Array, private readonly psk: Uint8Array, private readonly checkKey?: ServerKeyCheck) {
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

  /**
   * Keys if the SERVER HELLO is genuine: its MAC proves the server holds the psk and the static
   * key it names. undefined for a forgery (drop it, keep waiting); { refused } when the hello is
   * genuine but the client must not go on (a weaker mode, a static key it does not trust).
   */
  onServerHello(sh: ServerHello): Established | { refused: string } | undefined {
    const ee = sharedSecret(this.keyPair.privateKey, sh.publicKey);
    const es = sharedSecret(this.keyPair.privateKey, sh.staticKey);
    if (!ee || !es) return undefined;
    const t = transcript(this.sessionId, this.hello, sh.mode, sh.publicKey, sh.staticKey, sh.random);
    const keys = deriveKeys(concat(ee, es), this.psk, t);
    if (!macEqual(sh.mac, handshakeMac(keys.macKey, 'server', t))) return undefined;
    if (sh.mode < this.hello.mode) return { refused: 'the server chose weaker encryption than asked for' };
    const why = this.checkKey?.(sh.staticKey);
    if (why !== undefined) return { refused: why };
    return { keys, mode: sh.mode, clientMac: handshakeMac(keys.macKey, 'client', t) };
  }
}

/** Server side: answers a cookie-validated CLIENT HELLO. Returns undefined for a bad public key. */
export function acceptClientHello(
  random: Random,
  sessionId: bigint,
  hello: ClientHello,
  psk: Uint8Array,
  staticKey: KeyPair,
): { established: Established; serverHello: Uint8Array } | undefined {
  const kp = keyPairFromSeed(random.bytes(32));
  const ee = sharedSecret(kp.privateKey, hello.publicKey);
  const es = sharedSecret(staticKey.privateKey, hello.publicKey);
  if (!ee || !es) return undefined;
  const mode = hello.mode;
  const srand = random.bytes(32);
  const t = transcript(sessionId, hello, mode, kp.publicKey, staticKey.publicKey, srand);
  const keys = deriveKeys(concat(ee, es), psk, t);
  const buf = new Uint8Array(SHORT_HEADER_LEN + 1 + 128);
  const w = new Writer(buf);
  encodeHeader(w, { version: VERSION, type: PacketType.SERVER_HELLO, sessionId, packetNumber: 0, clearLength: 0 });
  encodeServerHello(w, { mode, publicKey: kp.publicKey, staticKey: staticKey.publicKey, random: srand, mac: handshakeMac(keys.macKey, 'server', t) });
  return { established: { keys, mode, clientMac: handshakeMac(keys.macKey, 'client', t) }, serverHello: buf };
}

/** A REFUSE datagram for a session id. */
export function refuseDatagram(sessionId: bigint, code: number, reason: string): Uint8Array {
  const buf = new Uint8Array(SHORT_HEADER_LEN + refuseLength(reason));
  const w = new Writer(buf);
  encodeHeader(w, { version: VERSION, type: PacketType.REFUSE, sessionId, packetNumber: 0, clearLength: 0 });
  encodeRefuse(w, { code, reason });
  return buf;
}

export { Reader };
