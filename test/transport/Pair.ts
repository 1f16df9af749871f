/**
 * A client session and a server endpoint joined by two emulated one-way links in virtual
 * time (quinn's Pair). step() runs due timers, drains both sides' transmissions into the
 * links, delivers what is due, and jumps the clock to the earliest next event.
 * Loss, reordering (extra delay), duplication and an MTU limit are decided by a seeded RNG.
 */
import { createClientSession, Endpoint, SeededRandom, type Session, type SessionEvent, type ClientOptions, type EndpointOptions } from '../../src/transport/index.js';

export interface LinkOptions {
  delayMs?: number;
  loss?: number;
  reorder?: number;
  reorderExtraMs?: number;
  duplicate?: number;
  mtu?: number;
  /** Bottleneck rate, bit/s (0 = unlimited), with a drop-tail queue of queueMs. */
  rateBps?: number;
  queueMs?: number;
  /** Called on each datagram before the link acts; return false to drop it. */
  filter?: (d: Uint8Array, path: string) => boolean;
}

interface InFlight {
  at: number;
  path: string;
  data: Uint8Array;
}

export class Link {
  queue: InFlight[] = [];
  busyUntil = 0;
  delivered = 0;
  dropped = 0;
  bytes = 0;
  constructor(public o: LinkOptions, private rng: SeededRandom) {}

  send(now: number, path: string, data: Uint8Array): void {
    const o = this.o;
    if (o.filter && !o.filter(data, path)) return void this.dropped++;
    if (o.mtu && data.length > o.mtu) return void this.dropped++;
    if (o.loss && this.rng.float() < o.loss) return void this.dropped++;
    let at = now;
    if (o.rateBps) {
      const start = Math.max(now, this.busyUntil);
      if (start - now > (o.queueMs ?? 100)) return void this.dropped++;
      this.busyUntil = start + (data.length * 8000) / o.rateBps;
      at = this.busyUntil;
    }
    at += o.delayMs ?? 10;
    if (o.reorder && this.rng.float() < o.reorder) at += o.reorderExtraMs ?? 20;
    this.push({ at, path, data });
    if (o.duplicate && this.rng.float() < o.duplicate) this.push({ at: at + 1, path, data: data.slice() });
    this.bytes += data.length;
  }

  private push(f: InFlight): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.at > f.at) i--;
    this.queue.splice(i, 0, f);
  }

  nextAt(): number {
    return this.queue.length ? this.queue[0]!.at : Infinity;
  }
}

export class Pair {
  now = 0;
  readonly rng: SeededRandom;
  readonly client: Session;
  readonly server: Endpoint;
  serverSession: Session | undefined;
  readonly up: Link;
  readonly down: Link;
  /** The path key the server sees for the client (change it to emulate NAT rebinding). */
  clientAddr = '10.0.0.1:5000';
  readonly clientEvents: SessionEvent[] = [];
  readonly serverEvents: SessionEvent[] = [];
  stalls = 0;

  constructor(o: { seed?: number; client?: Partial<ClientOptions>; server?: Partial<EndpointOptions>; up?: LinkOptions; down?: LinkOptions } = {}) {
    this.rng = new SeededRandom(o.seed ?? 1);
    this.up = new Link(o.up ?? {}, this.rng);
    this.down = new Link(o.down ?? {}, this.rng);
    this.server = new Endpoint({ now: 0, resolvePsk: () => 'secret-token', random: new SeededRandom((o.seed ?? 1) + 1000), ...o.server });
    this.client = createClientSession({ now: 0, psk: 'secret-token', identity: 'live/test', random: new SeededRandom((o.seed ?? 1) + 2000), ...o.client });
  }

  /** One step: timers, transmissions, deliveries due now, then jump to the next event. */
  step(): void {
    const now = this.now;
    const ct = this.client.pollTimeout();
    if (ct !== undefined && ct <= now) this.client.handleTimeout(now);
    const st = this.server.pollTimeout();
    if (st !== undefined && st <= now) this.server.handleTimeout(now);
    let progress = false;
    for (let d = this.client.pollTransmit(now); d; d = this.client.pollTransmit(now)) {
      this.up.send(now, this.clientAddr, d.data);
      progress = true;
    }
    for (let d = this.server.pollTransmit(now); d; d = this.server.pollTransmit(now)) {
      this.down.send(now, d.path, d.data);
      progress = true;
    }
    if (this.up.nextAt() <= now || this.down.nextAt() <= now) progress = true;
    while (this.up.nextAt() <= now) {
      const f = this.up.queue.shift()!;
      this.server.handleDatagram(now, f.path, f.data);
      this.up.delivered++;
    }
    while (this.down.nextAt() <= now) {
      const f = this.down.queue.shift()!;
      if (f.path === this.clientAddr || this.acceptOldAddr) this.client.handleDatagram(now, 'default', f.data);
      this.down.delivered++;
    }
    for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) this.serverSession = e.session;
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) this.clientEvents.push(e);
    if (this.serverSession) for (let e = this.serverSession.pollEvent(); e; e = this.serverSession.pollEvent()) this.serverEvents.push(e);
    let next = Math.min(this.up.nextAt(), this.down.nextAt(), this.client.pollTimeout() ?? Infinity, this.server.pollTimeout() ?? Infinity);
    if (next <= now && !progress) {
      // Something claims to be due but produced nothing: move on a little, and count it.
      this.stalls++;
      next = now + 0.05;
    }
    this.now = Math.max(now, next);
  }

  /** When true, datagrams the server sends to the client's old address still reach it. */
  acceptOldAddr = false;

  /** Steps until `until` (absolute virtual ms) or until cond() holds. */
  run(until: number, cond?: () => boolean): void {
    while (this.now < until) {
      if (cond && cond()) return;
      const before = this.now;
      this.step();
      if (this.now > until && before < until) this.now = until;
    }
  }

  connect(): void {
    this.run(this.now + 10_000, () => this.clientEvents.some((e) => e.type === 'connected') && this.serverEvents.some((e) => e.type === 'connected'));
    if (!this.serverSession) throw new Error('no server session');
  }
}

export function messages(events: SessionEvent[], streamId?: number): Extract<SessionEvent, { type: 'message' }>[] {
  return events.filter((e): e is Extract<SessionEvent, { type: 'message' }> => e.type === 'message' && (streamId === undefined || e.streamId === streamId));
}
