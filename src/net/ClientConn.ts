/**
 * One client session with its driver: the client shell races two of these (UDP and TCP) while
 * the handshake is unanswered, then keeps the winner.
 */
import type { ClientOptions } from '../transport/index.js';
import type { Datagram, Session } from '../transport/api.js';
import { Driver } from './Driver.js';
import { TransportSession } from './TransportSession.js';
import type { NetLogger } from './udp.js';

export interface ClientConnOptions {
  firstPath: string;
  clock: () => number;
  make: (now: number) => Session;
  transmit: (d: Datagram) => void;
  onConnected: (c: ClientConn) => void;
  /** The session closed before it connected (refused by the server, an untrusted server key, a timeout). */
  onFailed?: (c: ClientConn, reason: string) => void;
  log: NetLogger;
}

export type { ClientOptions };

export class ClientConn {
  readonly driver: Driver;
  readonly session: TransportSession;
  readonly firstPath: string;

  constructor(o: ClientConnOptions) {
    this.firstPath = o.firstPath;
    const core = o.make(o.clock());
    this.driver = new Driver({
      machine: core,
      clock: o.clock,
      transmit: o.transmit,
      afterStep: () => this.session.drain(),
      onError: (e) => o.log.warn({ err: String(e) }, 'transport core threw; datagram dropped'),
    });
    this.session = new TransportSession(core, () => this.driver.kick(), o.clock, () => this.driver.close());
    this.session.once('connected', () => o.onConnected(this));
    this.session.once('closed', (reason) => {
      if (!this.session.isConnected) o.onFailed?.(this, reason);
    });
    this.driver.kick();
  }

  input(path: string, data: Uint8Array): void {
    this.driver.input(path, data);
  }

  /** Asks the core to close cleanly (the CLOSE goes out on the next step). */
  closeSession(): void {
    if (!this.session.isClosed) this.session.close('client closed');
  }

  /** Stops driving this session at once. */
  abandon(): void {
    this.session.markClosed('client closed', false);
    this.driver.close();
  }
}
