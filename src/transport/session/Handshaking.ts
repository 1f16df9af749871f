/**
 * The session's side of the handshake (the cryptography is Handshake.ts's). Client: INITIAL,
 * resent with backoff, again with the cookie after a RETRY; SERVER HELLO gives the keys; then
 * FINISHED rides on PROTECTED packets until the server's first one arrives. Server: the
 * SERVER HELLO is resent for a repeated INITIAL; the session is connected at a valid FINISHED
 * and forgotten if none comes within HANDSHAKE_TIMEOUT.
 */
import type { Reader } from '../../wire/buf.js';
import type { Frame } from '../../wire/frame.js';
import { decodeRetry } from '../../wire/retry.js';
import { decodeServerHello } from '../../wire/serverHello.js';
import { decodeClientHello } from '../../wire/clientHello.js';
import { decodeRefuse } from '../../wire/refuse.js';
import { PacketProtection } from '../crypto/PacketProtection.js';
import { macEqual } from '../crypto/keys.js';
import { ClientHandshake, type Established } from '../Handshake.js';
import { MODE_CODE, MODE_NAME } from '../options.js';
import type { SessionState } from './SessionState.js';

/** A server session that has not seen FINISHED by then is forgotten (half-open). */
const HANDSHAKE_TIMEOUT = 10_000;

export interface HandshakeInit {
  psk: Uint8Array;
  identity?: Uint8Array;
  established?: Established;
  serverHello?: Uint8Array;
  clientPublicKey?: Uint8Array;
  checkServerKey?: (staticPublicKey: Uint8Array) => string | undefined;
}

export class Handshaking {
  private readonly client: ClientHandshake | undefined;
  private initialDue = -1;
  private initialTries = 0;
  private initialSentAt = 0;
  private readonly serverHello: Uint8Array | undefined;
  private serverHelloDue = false;
  private readonly clientPublicKey: Uint8Array | undefined;
  private clientMac: Uint8Array | undefined;
  /** Client: when a packet carrying FINISHED must go out even with nothing else to send. */
  private finishedDue = -1;

  constructor(private readonly s: SessionState, init: HandshakeInit, now: number) {
    this.clientPublicKey = init.clientPublicKey;
    if (s.role === 'client') {
      this.client = new ClientHandshake(s.random, s.id, MODE_CODE[s.mode], init.identity ?? new Uint8Array(0), init.psk, init.checkServerKey);
      this.initialDue = now;
    } else {
      this.serverHello = init.serverHello;
      this.serverHelloDue = true;
      this.establish(init.established!);
    }
  }

  /** Client before SERVER HELLO: only INITIALs go out. */
  get awaitingHello(): boolean {
    return this.client !== undefined && !this.s.protection;
  }

  onRetry(now: number, r: Reader): void {
    const s = this.s;
    if (!this.client || s.protection || this.client.hello.cookie.length > 0) return s.drop('unexpected-retry');
    const retry = decodeRetry(r);
    this.client.setCookie(retry.cookie);
    this.initialDue = now;
    this.initialTries = 0;
  }

  onServerHello(now: number, r: Reader, pathKey: string, len: number): void {
    const s = this.s;
    if (!this.client || s.protection) return s.drop('unexpected-hello');
    const sh = decodeServerHello(r);
    const est = this.client.onServerHello(sh);
    if (!est) return s.drop('auth');
    // A genuine server the client must not talk to (weaker mode, untrusted key): stop now, with why.
    if ('refused' in est) return s.finish(est.refused, false);
    this.establish(est);
    this.initialDue = -1;
    this.finishedDue = now;
    s.state = 'connected';
    s.counters.packetsReceived++;
    s.counters.bytesReceived += len;
    s.lastReceived = now;
    const path = s.pathByKey.get(pathKey);
    if (path) {
      path.lastReceived = now;
      if (this.initialTries === 1) path.rtt.update(now - this.initialSentAt);
    }
    s.emit({ type: 'connected' });
    s.emit({ type: 'path-up', path: s.paths[0]!.key });
  }

  /** Client, handshake unanswered: the server will not take our hello and says why. */
  onRefuse(r: Reader): void {
    const s = this.s;
    if (!this.awaitingHello) return s.drop('unexpected-refuse');
    const m = decodeRefuse(r);
    s.finish(`refused by the server: ${m.reason}`, true);
  }

  /** Server: the client did not hear our SERVER HELLO (until FINISHED shows it did). */
  onRepeatedInitial(r: Reader, pathKey: string, len: number): void {
    const s = this.s;
    if (s.role !== 'server' || !this.serverHello) return s.drop('unexpected-initial');
    const ch = decodeClientHello(r);
    if (!this.clientPublicKey || !macEqual(ch.publicKey, this.clientPublicKey)) return s.drop('auth');
    const path = s.pathByKey.get(pathKey);
    if (!path) return s.drop('unknown-path');
    path.bytesReceived += len;
    this.serverHelloDue = !s.confirmed;
  }

  private establish(est: Established): void {
    const s = this.s;
    const k = est.keys;
    s.mode = MODE_NAME[est.mode]!;
    s.protection = s.role === 'client' ? new PacketProtection(k.c2sKey, k.c2sIv, k.s2cKey, k.s2cIv) : new PacketProtection(k.s2cKey, k.s2cIv, k.c2sKey, k.c2sIv);
    this.clientMac = est.clientMac;
  }

  /**
   * Server, first authenticated packet: it must carry the client's FINISHED. Returns false to
   * drop the packet; true once confirmed (and then the session is connected).
   */
  confirm(frames: readonly Frame[]): boolean {
    const s = this.s;
    if (s.role !== 'server' || s.confirmed) return true;
    const fin = frames.find((f) => f.kind === 'finished');
    if (!fin || fin.kind !== 'finished' || !macEqual(fin.mac, this.clientMac!)) return false;
    s.confirmed = true;
    s.state = 'connected';
    s.emit({ type: 'connected' });
    s.emit({ type: 'path-up', path: s.paths[0]!.key });
    return true;
  }

  /** The reason to give up the handshake now, if it is time. */
  timedOut(now: number): string | undefined {
    const s = this.s;
    if (s.role === 'server' && !s.confirmed && s.createdAt + HANDSHAKE_TIMEOUT <= now) return 'handshake timeout';
    if (this.client && !s.protection && this.initialTries >= 8 && now >= this.initialDue) return 'handshake timeout';
    return undefined;
  }

  /**
   * When the handshake needs a wake-up: a number ends pollTimeout's search (the handshake is
   * all that can happen), undefined lets it go on.
   */
  wakeAt(idle: number): number | undefined {
    const s = this.s;
    if (this.awaitingHello) return Math.min(idle, this.initialDue);
    if (this.serverHelloDue) return 0;
    if (s.role === 'server' && !s.confirmed) return Math.min(idle, s.createdAt + HANDSHAKE_TIMEOUT);
    return undefined;
  }

  /** Client: FINISHED is repeated until the server confirms; media queued meanwhile is paced as usual. */
  finishedWake(idle: number): number {
    const s = this.s;
    return s.role === 'client' && !s.confirmed && this.finishedDue >= 0 ? Math.min(idle, this.finishedDue) : idle;
  }

  /** The next INITIAL, when due (backoff 250 ms doubling, at most 3 s). */
  pollInitial(now: number): Uint8Array | undefined {
    if (now < this.initialDue) return undefined;
    this.initialTries++;
    this.initialSentAt = now;
    this.initialDue = now + Math.min(3000, 250 * 2 ** (this.initialTries - 1));
    return this.client!.initialDatagram();
  }

  /** Server: the SERVER HELLO to resend, once per repeated INITIAL. */
  takeServerHello(): Uint8Array | undefined {
    if (!this.serverHelloDue || !this.serverHello) return undefined;
    this.serverHelloDue = false;
    return this.serverHello;
  }

  /** Client: the FINISHED frame every PROTECTED packet carries until the server confirms. */
  finishedFrame(): Frame | undefined {
    const s = this.s;
    return s.role === 'client' && !s.confirmed && this.clientMac !== undefined ? { kind: 'finished', mac: this.clientMac } : undefined;
  }

  /** Client: a packet with FINISHED alone waits for finishedDue; returns whether it may go. */
  mayRepeatFinished(now: number, alone: boolean): boolean {
    return !(alone && now < this.finishedDue);
  }

  /** Client: FINISHED just went out; the next lone one is due an RTO later. */
  finishedSent(now: number, rtoMs: number): void {
    this.finishedDue = now + rtoMs;
  }
}
