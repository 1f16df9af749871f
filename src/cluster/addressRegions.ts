/**
 * The config's CIDR-to-region table (`cluster.addressRegions`): a viewer's region from its
 * address when no geo-aware proxy sets the region header. Operators route by ISP with it too:
 * an entry per ISP's prefixes naming a region its nodes register under (`--region eu-isp-a`).
 * The longest matching prefix wins, as in a routing table, so a /24 carved out of a /16 can
 * go elsewhere. Lookups are one map probe per prefix length in the table (at most 33 for IPv4,
 * 129 for IPv6), whatever the table's size, since the route answer runs per request.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface AddressRegion {
  cidr: string;
  region: string;
}

type Family = 4 | 6;

/** An address as a number of its family's width; IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4. */
export function parseAddress(text: string): { family: Family; value: bigint } | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (mapped) s = mapped[1]!;
  if (isIPv4(s)) return { family: 4, value: s.split('.').reduce((v, b) => (v << 8n) | BigInt(Number(b)), 0n) };
  if (!isIPv6(s)) return undefined;
  let groups: string[];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = Number(parseAddress(v4[1]!)!.value);
    s = `${s.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length === 2) {
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves[1] ? halves[1].split(':') : [];
    groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  } else groups = s.split(':');
  return { family: 6, value: groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** `ADDRESS/LENGTH` as its family, its masked prefix and its length; undefined when malformed. */
export function parseCidr(text: string): { family: Family; prefix: bigint; length: number } | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const a = parseAddress(m[1]!);
  if (!a) return undefined;
  // A mapped IPv6 prefix (::ffff:10.0.0.0/104) names IPv4 addresses: count its length in IPv4 bits.
  const mappedBits = a.family === 4 && m[1]!.includes(':') ? 96 : 0;
  const length = Number(m[2]) - mappedBits;
  const bits = a.family === 4 ? 32 : 128;
  if (length < 0 || length > bits) return undefined;
  return { family: a.family, prefix: masked(a.value, bits, length), length };
}

function masked(value: bigint, bits: number, length: number): bigint {
  return (value >> BigInt(bits - length)) << BigInt(bits - length);
}

export class AddressRegions {
  /** Per family: prefix lengths, longest first, each with its prefixes' regions. */
  private readonly byLength = new Map<Family, { length: number; regions: Map<bigint, string> }[]>();

  /** Throws on a malformed CIDR (the config schema checks them first, naming the entry). */
  constructor(entries: readonly AddressRegion[]) {
    for (const e of entries) {
      const c = parseCidr(e.cidr);
      if (!c) throw new Error(`not a CIDR: ${e.cidr}`);
      const levels = this.byLength.get(c.family) ?? [];
      let level = levels.find((l) => l.length === c.length);
      if (!level) {
        level = { length: c.length, regions: new Map() };
        levels.push(level);
        levels.sort((x, y) => y.length - x.length);
      }
      // The first entry for a prefix wins, as the config's order reads.
      if (!level.regions.has(c.prefix)) level.regions.set(c.prefix, e.region);
      this.byLength.set(c.family, levels);
    }
  }

  get size(): number {
    let n = 0;
    for (const levels of this.byLength.values()) for (const l of levels) n += l.regions.size;
    return n;
  }

  /** The region of the longest prefix holding `address`, or undefined (no entry, or not an address). */
  regionOf(address: string | undefined): string | undefined {
    if (address === undefined || this.byLength.size === 0) return undefined;
    const a = parseAddress(address);
    if (!a) return undefined;
    const bits = a.family === 4 ? 32 : 128;
    for (const l of this.byLength.get(a.family) ?? []) {
      const r = l.regions.get(masked(a.value, bits, l.length));
      if (r !== undefined) return r;
    }
    return undefined;
  }
}
