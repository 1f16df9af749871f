import { isIPv6 } from 'node:net';

/**
 * Caps concurrent connections per peer address, across every TCP listener that shares one
 * limiter (RTMP, HTTP, WebSocket). IPv4-mapped IPv6 addresses count as their IPv4 address; a
 * native IPv6 peer counts by its /64, since one host usually holds a whole /64 and could
 * otherwise open connections from as many addresses as it likes. Exempt addresses (by default
 * none here; the server config exempts loopback, where a reverse proxy or a local relay sits)
 * are never refused.
 */
export class AddressLimiter {
  /** Connections refused because their address was at the cap. */
  refused = 0;
  private readonly open = new Map<string, number>();

  private readonly exempt: Set<string>;

  constructor(
    readonly maxPerAddress: number,
    exempt: readonly string[] = [],
  ) {
    this.exempt = new Set(exempt.map(addressKey));
  }

  /** Takes a slot for `address`; false when it already holds `maxPerAddress`. */
  tryAcquire(address: string | undefined): boolean {
    const key = addressKey(address);
    if (this.exempt.has(key)) return true;
    const n = this.open.get(key) ?? 0;
    if (n >= this.maxPerAddress) {
      this.refused++;
      return false;
    }
    this.open.set(key, n + 1);
    return true;
  }

  /** Gives back a slot taken by tryAcquire (call once per successful acquire). */
  release(address: string | undefined): void {
    const key = addressKey(address);
    if (this.exempt.has(key)) return;
    const n = (this.open.get(key) ?? 0) - 1;
    if (n > 0) this.open.set(key, n);
    else this.open.delete(key);
  }

  /** Whether `address` is exempt (never refused here, nor held to a share of the memory budget). */
  isExempt(address: string | undefined): boolean {
    return this.exempt.has(addressKey(address));
  }

  /** Connections open now from `address`'s key. */
  count(address: string | undefined): number {
    return this.open.get(addressKey(address)) ?? 0;
  }

  /** Distinct keys with a connection open. */
  get addresses(): number {
    return this.open.size;
  }
}

/** The key an address is counted under: IPv4 as is, IPv6 by its first 64 bits. */
export function addressKey(address: string | undefined): string {
  if (!address) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const zone = address.indexOf('%');
  const bare = zone >= 0 ? address.slice(0, zone) : address;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64';
}
