/**
 * The server side: one endpoint per UDP socket (or TCP listener). Demultiplexes datagrams by
 * session id, answers a CLIENT HELLO without a valid cookie with a stateless RETRY (a few dozen
 * bytes for a 1200-byte hello, well under the 3x limit), creates a Session for a hello with a
 * valid cookie, and limits sessions that have not finished the handshake, in all and per peer
 * address (AddressLimits: counts kept as sessions come and go, no scan per hello).
 *
 * New sessions come out of pollEvent() as { type: 'session', session }; the caller drives each
 * session's events with session.pollEvent(), while datagrams and timers of every session go
 * through the endpoint's own handleDatagram / handleTimeout / pollTransmit / pollTimeout.
 *
 * Those four cost what changed, not how many sessions there are: each session's wake-up is kept
 * in a heap and asked again only after something touched it (a datagram, a timeout, a transmit,
 * or the application's send/openStream/close), and only sessions due now are asked for
 * datagrams. Asking every session on every call made a server's cost grow with the square of
 * its transport viewers (each frame to each viewer polled them all three times: 300 viewers of
 * which 30 on the transport kept a 2-core server 95% busy, event-loop delay p99 80-190 ms).
 */
import { Reader, WireError, Writer } from '../wire/buf.js';
import { MAX_DATAGRAM, PacketType, SHORT_HEADER_LEN, VERSION, decodeHeader, encodeHeader } from '../wire/header.js';
import { MIN_INITIAL_SIZE, decodeClientHello } from '../wire/clientHello.js';
import { encodeRetry } from '../wire/retry.js';
import type { Datagram, SansIo } from './api.js';
import { AddressLimits, addressOfPath } from './AddressLimits.js';
import { CookieJar } from './Cookie.js';
import { acceptClientHello, refuseDatagram } from './Handshake.js';
import { keyPairFromSeed, type KeyPair } from './crypto/keys.js';
import { RefuseCode } from '../wire/refuse.js';
import { CryptoRandom, type Random } from './Random.js';
import { Session } from './Session.js';
import { WakeHeap } from './WakeHeap.js';
import { MODE_CODE, MODE_NAME, pskBytes, resolvedPsk, type EndpointOptions } from './options.js';

export type EndpointEvent = { type: 'session'; session: Session };

export class Endpoint implements SansIo {
  private readonly sessions = new Map<bigint, Session>();
  /** Wake-up time of every session not in `ready`, as of its last refresh. */
  private readonly wakes = new WakeHeap<Session>();
  /** Sessions touched since their wake-up was last asked. */
  private readonly dirty = new Set<Session>();
  /** Sessions due now, asked for datagrams in turn until each has none. */
  private readonly ready: Session[] = [];
  private readonly inReady = new Set<Session>();
  private rr = 0;
  private readonly outbox: Datagram[] = [];
  private readonly events: EndpointEvent[] = [];
  private readonly cookies: CookieJar;
  private readonly random: Random;
  private readonly limits: AddressLimits<Session>;
  private readonly addressOf: (path: string) => string;
  private readonly staticKey: KeyPair;
  private readonly minMode: number;
  readonly dropped: Record<string, number> = {};
  retriesSent = 0;

  constructor(private readonly opts: EndpointOptions) {
    this.random = opts.random ?? new CryptoRandom();
    this.cookies = new CookieJar(this.random, opts.now);
    this.limits = new AddressLimits(opts);
    this.addressOf = opts.addressOf ?? addressOfPath;
    this.staticKey = opts.staticKey ?? keyPairFromSeed(this.random.bytes(32));
    this.minMode = MODE_CODE[opts.encryption ?? 'none'];
  }

  /** The server's static public key (what clients pin; see crypto/keys.ts fingerprint). */
  get staticPublicKey(): Uint8Array {
    return this.staticKey.publicKey;
  }

  /** Sessions past SERVER HELLO that have not shown FINISHED yet. */
  get halfOpenCount(): number {
    return this.limits.halfOpen;
  }

  pollEvent(): EndpointEvent | undefined {
    return this.events.shift();
  }

  /** Sessions currently held (closed ones leave after their last datagram). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  handleDatagram(now: number, path: string, data: Uint8Array): void {
    try {
      this.receive(now, path, data);
    } catch (e) {
      this.drop(e instanceof WireError ? e.reason : 'internal');
    }
  }

  private receive(now: number, path: string, data: Uint8Array): void {
    if (data.length < SHORT_HEADER_LEN) return this.drop('truncated');
    if (data.length > MAX_DATAGRAM) return this.drop('oversized');
    const r = new Reader(data);
    const h = decodeHeader(r);
    const existing = this.sessions.get(h.sessionId);
    if (existing) {
      existing.handleDatagram(now, path, data);
      this.dirty.add(existing);
      // Only half-open sessions are asked, once per datagram they get (FINISHED is the first).
      if (this.limits.isHalfOpen(existing) && existing.stats().state !== 'handshake') this.limits.confirmed(existing);
      return;
    }
    if (h.type !== PacketType.INITIAL) return this.drop('unknown-session');
    if (data.length < MIN_INITIAL_SIZE) return this.drop('small-initial');
    // An address at its half-open share gets nothing more until one of its handshakes ends:
    // no RETRY, no cookie check, so a flood from it costs a map lookup per datagram.
    const full = this.limits.refuse(this.addressOf(path), false);
    if (full) return this.drop(full);
    const hello = decodeClientHello(r);
    // Told at once, before any cookie: a REFUSE is smaller than the RETRY it replaces.
    if (hello.mode < this.minMode) return this.refuse(path, h.sessionId, RefuseCode.ENCRYPTION, `encryption '${MODE_NAME[hello.mode]}' is below this server's minimum '${MODE_NAME[this.minMode]}'`, 'weak-encryption');
    if (hello.cookie.length === 0 || !this.cookies.verify(now, path, h.sessionId, hello.cookie)) {
      if (hello.cookie.length > 0) this.drop('bad-cookie');
      if (this.opts.requireRetry === false) return this.accept(now, path, h.sessionId, hello);
      return this.sendRetry(now, path, h.sessionId);
    }
    this.accept(now, path, h.sessionId, hello);
  }

  private sendRetry(now: number, path: string, sessionId: bigint): void {
    if (this.outbox.length >= 1024) return this.drop('outbox-full');
    const cookie = this.cookies.issue(now, path, sessionId);
    const buf = new Uint8Array(SHORT_HEADER_LEN + 2 + cookie.length);
    const w = new Writer(buf);
    encodeHeader(w, { version: VERSION, type: PacketType.RETRY, sessionId, packetNumber: 0, clearLength: 0 });
    encodeRetry(w, { cookie });
    this.outbox.push({ path, data: buf });
    this.retriesSent++;
  }

  /** Answers with a REFUSE (counted under `counter`, as a drop: no session is made). */
  private refuse(path: string, sessionId: bigint, code: number, reason: string, counter: string): void {
    this.drop(counter);
    if (this.outbox.length >= 1024) return this.drop('outbox-full');
    this.outbox.push({ path, data: refuseDatagram(sessionId, code, reason) });
    this.refusalsSent++;
  }

  refusalsSent = 0;

  private accept(now: number, path: string, sessionId: bigint, hello: ReturnType<typeof decodeClientHello>): void {
    const address = this.addressOf(path);
    const answer = resolvedPsk(this.opts.resolvePsk(new TextDecoder().decode(hello.identity)));
    if (answer === undefined) return this.drop('unknown-identity');
    const { psk, open } = answer;
    const capped = open ? this.limits.refuse(address, true) : undefined;
    if (capped) return this.drop(capped);
    const acc = acceptClientHello(this.random, sessionId, hello, pskBytes(psk), this.staticKey);
    if (!acc) return this.drop('bad-key');
    const session = new Session({
      ...this.opts,
      role: 'server',
      sessionId,
      now,
      path,
      psk: pskBytes(psk),
      identity: hello.identity.slice(),
      random: this.random,
      established: acc.established,
      serverHello: acc.serverHello,
      clientPublicKey: hello.publicKey.slice(),
    });
    this.sessions.set(sessionId, session);
    session.onAppCall = () => this.dirty.add(session);
    this.dirty.add(session);
    this.limits.add(session, address, open);
    this.events.push({ type: 'session', session });
  }

  handleTimeout(now: number): void {
    this.refresh();
    for (let s = this.wakes.popDue(now); s; s = this.wakes.popDue(now)) {
      s.handleTimeout(now);
      this.dirty.add(s);
    }
  }

  pollTransmit(now: number): Datagram | undefined {
    const d = this.outbox.shift();
    if (d) return d;
    this.refresh();
    for (let s = this.wakes.popDue(now); s; s = this.wakes.popDue(now)) {
      if (this.inReady.has(s)) continue;
      this.inReady.add(s);
      this.ready.push(s);
    }
    while (this.ready.length) {
      if (this.rr >= this.ready.length) this.rr = 0;
      const s = this.ready[this.rr]!;
      const out = s.pollTransmit(now);
      if (out) {
        this.rr++;
        return out;
      }
      // Nothing more from it now: its wake-up is asked again (pacer, timers) on the next refresh.
      this.ready.splice(this.rr, 1);
      this.inReady.delete(s);
      this.dirty.add(s);
    }
    this.refresh();
    return undefined;
  }

  pollTimeout(): number | undefined {
    if (this.outbox.length || this.ready.length) return 0;
    this.refresh();
    const t = this.wakes.peek();
    return t === Infinity ? undefined : t;
  }

  /** Asks each touched session for its wake-up; forgets the closed ones. */
  private refresh(): void {
    if (!this.dirty.size) return;
    for (const s of this.dirty) {
      if (s.isClosed) {
        this.forget(s);
        continue;
      }
      if (this.inReady.has(s)) continue;
      this.wakes.set(s, s.pollTimeout() ?? Infinity);
    }
    this.dirty.clear();
  }

  /** A closed session leaves every table (half-open ones that never finish close themselves). */
  private forget(s: Session): void {
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    this.wakes.delete(s);
    this.limits.removed(s);
  }
}
