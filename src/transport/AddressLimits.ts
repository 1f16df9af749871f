/**
 * Per-address accounting of the endpoint's sessions, so one source cannot take the handshake
 * table (a flood from one address filled the 256 half-open slots and held a real sender out
 * for 9 s). Counts are kept as they change, so admitting a hello costs a few map lookups,
 * never a scan of the sessions.
 *
 * An address is the peer's IP, not ip:port: a flooder has 64k ports, not 64k addresses (and a
 * cookie proves it receives at the IP it claims). Limits:
 *   - half-open (past SERVER HELLO, no FINISHED yet): in all, and per address;
 *   - sessions of open identities (whose pre-shared key is public, so nothing proves who the
 *     client is): per address, handshaking or connected. Sessions that proved a token are not
 *     capped per address (many encoders can sit behind one NAT).
 */

export interface AddressLimitOptions {
  /** Half-open sessions in all (default 256). */
  maxHalfOpen?: number;
  /** Half-open sessions per address (default 16). */
  maxHalfOpenPerAddress?: number;
  /** Sessions of open (tokenless) identities per address (default 32). */
  maxOpenSessionsPerAddress?: number;
}

interface Entry {
  address: string;
  open: boolean;
  halfOpen: boolean;
}

export class AddressLimits<K> {
  private readonly entries = new Map<K, Entry>();
  private readonly halfOpenBy = new Map<string, number>();
  private readonly openBy = new Map<string, number>();
  private halfOpenTotal = 0;
  private readonly maxHalfOpen: number;
  private readonly maxHalfOpenPer: number;
  private readonly maxOpenPer: number;

  constructor(o: AddressLimitOptions = {}) {
    this.maxHalfOpen = o.maxHalfOpen ?? 256;
    this.maxHalfOpenPer = o.maxHalfOpenPerAddress ?? 16;
    this.maxOpenPer = o.maxOpenSessionsPerAddress ?? 32;
  }

  get halfOpen(): number {
    return this.halfOpenTotal;
  }

  /** Why a new session from `address` would exceed a limit (a drop reason), or undefined. */
  refuse(address: string, open: boolean): string | undefined {
    if ((this.halfOpenBy.get(address) ?? 0) >= this.maxHalfOpenPer) return 'half-open-per-address';
    if (this.halfOpenTotal >= this.maxHalfOpen) return 'half-open-limit';
    if (open && (this.openBy.get(address) ?? 0) >= this.maxOpenPer) return 'sessions-per-address';
    return undefined;
  }

  /** A new session, half-open. */
  add(key: K, address: string, open: boolean): void {
    if (this.entries.has(key)) return;
    this.entries.set(key, { address, open, halfOpen: true });
    this.halfOpenTotal++;
    bump(this.halfOpenBy, address, 1);
    if (open) bump(this.openBy, address, 1);
  }

  isHalfOpen(key: K): boolean {
    return this.entries.get(key)?.halfOpen ?? false;
  }

  /** The session finished its handshake. */
  confirmed(key: K): void {
    const e = this.entries.get(key);
    if (!e || !e.halfOpen) return;
    e.halfOpen = false;
    this.halfOpenTotal--;
    bump(this.halfOpenBy, e.address, -1);
  }

  /** The session is gone (closed, timed out). */
  removed(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.confirmed(key);
    if (e.open) bump(this.openBy, e.address, -1);
    this.entries.delete(key);
  }
}

function bump(m: Map<string, number>, k: string, by: number): void {
  const v = (m.get(k) ?? 0) + by;
  if (v <= 0) m.delete(k);
  else m.set(k, v);
}

/**
 * The address part of a shell's path key: "ip:port" and "tcp:ip:port" give "ip" (IPv6
 * without brackets: the port is after the last colon). A key without a port is its own address.
 */
export function addressOfPath(path: string): string {
  const p = path.startsWith('tcp:') ? path.slice(4) : path;
  const i = p.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(p.slice(i + 1)) ? p.slice(0, i) : p;
}
