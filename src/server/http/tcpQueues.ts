import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';

/*
 * What the kernel still holds of each TCP socket's output. Node shows only its own buffer
 * (writableLength); behind it the kernel's send buffer grows to tcp_wmem's maximum (4 MiB by
 * default, autotuned) for a peer that stopped reading, so a viewer that never reads looked
 * healthy for 30-60 s while a thousand of them filled gigabytes of kernel memory. Linux
 * publishes each socket's tx_queue (bytes written and not yet acknowledged by the peer) in
 * /proc/net/tcp{,6}; one poller reads both for every viewer, off the event loop (the kernel
 * renders the file in the thread pool), a couple of times a second. Elsewhere it reports
 * nothing and the viewers fall back to Node's buffer alone.
 */

const FILES = ['/proc/net/tcp', '/proc/net/tcp6'];
const POLL_MS = 500;
/** Text parsed per turn of the event loop: ~450 IPv4 rows. */
const PARSE_SLICE_CHARS = 64 << 10;
/**
 * While any watched socket asks for it (a `?quality=auto` viewer, whose rendition is chosen
 * from these samples): a cut of its link is seen this much sooner, and what may wait in the
 * kernel between two looks (see FlvSubscriber's kernel cap) is this much less.
 */
const FAST_POLL_MS = 200;
/** "  12: 0100007F:1F90 0100007F:D2F4 01 0001A2B3:00000000 ..." (v6 addresses are longer). */
const LINE = /^\s*\d+: ([0-9A-F]+):([0-9A-F]{4}) ([0-9A-F]+):([0-9A-F]{4}) ([0-9A-F]{2}) ([0-9A-F]{8}):/gm;
/** A closed connection's row, kept 60 s: it may carry the 4-tuple of a live socket again. */
const TIME_WAIT = '06';
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The key of one socket: both ends, addresses included. Ports alone are not enough: viewers
 * from different addresses often get the same ephemeral port (bind before connect), and a
 * pair of ports seen twice read as unknown for the life of the other socket (a 60 s
 * TIME_WAIT row included), which left the viewer judged by a stale sample (see FlvSubscriber).
 */
export function socketKey(localAddress: string, localPort: number, remoteAddress: string, remotePort: number): string {
  return `${localAddress}:${localPort}>${remoteAddress}:${remotePort}`;
}

/**
 * An address as /proc/net/tcp{,6} prints it (each 32-bit word of the address in host byte
 * order, in hex) as text: dotted IPv4 (an IPv4-mapped IPv6 address too), else eight hex groups.
 */
export function procAddress(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= hex.length; i += 8) {
    const w = parseInt(hex.slice(i, i + 8), 16);
    const b = [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255];
    bytes.push(...(LITTLE_ENDIAN ? b.reverse() : b));
  }
  if (bytes.length === 16 && bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 255 && bytes[11] === 255) bytes.splice(0, 12);
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** An address as Node gives it ('127.0.0.1', '::ffff:127.0.0.1', '::1', 'fe80::1%eth0') in procAddress's form; undefined if unreadable. */
export function nodeAddress(text: string): string | undefined {
  const a = text.replace(/%.*$/, '').toLowerCase();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) return a;
  let parts = a.split(':');
  const last = parts[parts.length - 1]!;
  if (last.includes('.')) {
    const v4 = last.split('.').map(Number);
    if (v4.length !== 4 || v4.some((x) => !(x >= 0 && x <= 255))) return undefined;
    parts = [...parts.slice(0, -1), ((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16)];
  }
  const gap = a.indexOf('::');
  let groups: string[];
  if (gap >= 0) {
    const halves = parts.join(':').split('::');
    if (halves.length !== 2) return undefined;
    const [head, tail] = halves as [string, string];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    if (h.length + t.length > 7) return undefined;
    groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  } else groups = parts;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const n = groups.map((g) => parseInt(g, 16));
  if (n.slice(0, 5).every((x) => x === 0) && n[5] === 0xffff) return [n[6]! >> 8, n[6]! & 255, n[7]! >> 8, n[7]! & 255].join('.');
  return n.map((x) => x.toString(16)).join(':');
}

/**
 * Adds each live socket of a /proc/net/tcp text to `into`: socketKey -> tx_queue bytes.
 * TIME_WAIT rows are left out (nothing is queued in them; a new connection may reuse their
 * 4-tuple). A row read twice (the kernel renders the file in chunks while sockets come and go)
 * is the same socket: the later reading stands.
 */
export function parseProcNetTcp(text: string, into: Map<string, number>, localPorts?: ReadonlySet<number>): void {
  LINE.lastIndex = 0;
  for (let m = LINE.exec(text); m; m = LINE.exec(text)) {
    if (m[5] === TIME_WAIT) continue;
    // The table lists every socket of the machine (a load generator's own ends too): rows of
    // other local ports are skipped before any address is read.
    const localPort = parseInt(m[2]!, 16);
    if (localPorts && !localPorts.has(localPort)) continue;
    into.set(socketKey(cachedAddress(m[1]!), localPort, cachedAddress(m[3]!), parseInt(m[4]!, 16)), parseInt(m[6]!, 16));
  }
}

/**
 * procAddress, remembered: a server's rows share a handful of addresses, and converting each
 * row's two afresh made a 10,000-row table cost 40-110 ms of the loop (now a few).
 */
const addressCache = new Map<string, string>();
function cachedAddress(hex: string): string {
  let a = addressCache.get(hex);
  if (a === undefined) {
    if (addressCache.size >= 4096) addressCache.clear();
    a = procAddress(hex);
    addressCache.set(hex, a);
  }
  return a;
}

export interface KernelQueue {
  /** Bytes the kernel holds for the peer at the last poll; undefined when unknown. */
  readonly tx: number | undefined;
  /** Polls every FAST_POLL_MS (instead of POLL_MS) while this socket is watched. */
  fast(): void;
  stop(): void;
}

/** The ends of a connected socket (a net.Socket is one). */
export interface SocketEnds {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

interface Watch {
  key: string;
  localPort: number;
  tx: number | undefined;
  onSample: () => void;
  onPollStart: (() => void) | undefined;
  fast: boolean;
}

/** One poller for every watched socket; it runs only while something is watched. */
export class TcpQueues {
  readonly available = process.platform === 'linux' && existsSync(FILES[0]!);
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private fastWatches = 0;
  private polling = false;

  constructor(private readonly pollMs = POLL_MS, private readonly fastPollMs = FAST_POLL_MS) {}

  /**
   * Follows the connected socket `s`; `onSample` runs after each poll. `onPollStart` runs just
   * before the kernel is read: the file is read in several chunks, turns of the event loop
   * apart, so a row may show the socket as it was at any moment between the two calls, and
   * whatever the caller wrote in between may or may not be in its tx_queue.
   */
  watch(s: SocketEnds, onSample: () => void, onPollStart?: () => void): KernelQueue {
    const local = s.localAddress === undefined ? undefined : nodeAddress(s.localAddress);
    const remote = s.remoteAddress === undefined ? undefined : nodeAddress(s.remoteAddress);
    if (!this.available || local === undefined || remote === undefined || s.localPort === undefined || s.remotePort === undefined) return { tx: undefined, fast: () => undefined, stop: () => undefined };
    const w: Watch = { key: socketKey(local, s.localPort, remote, s.remotePort), localPort: s.localPort, tx: undefined, onSample, onPollStart, fast: false };
    this.watches.add(w);
    this.schedule();
    return {
      get tx() {
        return w.tx;
      },
      fast: () => {
        if (w.fast || !this.watches.has(w)) return;
        w.fast = true;
        this.fastWatches++;
        this.schedule();
      },
      stop: () => {
        if (!this.watches.delete(w)) return;
        if (w.fast) this.fastWatches--;
        this.schedule();
      },
    };
  }

  /** The timer at the interval the watches need now (none when nothing is watched). */
  private schedule(): void {
    const ms = this.watches.size === 0 ? 0 : this.fastWatches > 0 ? this.fastPollMs : this.pollMs;
    if (ms === this.timerMs) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.timerMs = ms;
    if (ms === 0) return;
    this.timer = setInterval(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow read (a huge table): skip a turn rather than pile up
    this.polling = true;
    const localPorts = new Set<number>();
    for (const w of this.watches) {
      localPorts.add(w.localPort);
      w.onPollStart?.();
    }
    try {
      const table = new Map<string, number>();
      for (const f of FILES) {
        try {
          await parseInSlices(await readFile(f, 'latin1'), table, localPorts);
        } catch {
          /* no IPv6 here */
        }
      }
      for (const w of this.watches) {
        w.tx = table.get(w.key);
        w.onSample();
      }
    } finally {
      this.polling = false;
    }
  }
}

/**
 * parseProcNetTcp over `text` a slice of whole lines at a time, a turn of the event loop apart:
 * a machine with tens of thousands of sockets (a load generator's, TIME_WAIT rows of churn) must
 * not hold the loop for the whole table (10,000 rows took 13-140 ms at once).
 */
export async function parseInSlices(text: string, into: Map<string, number>, localPorts?: ReadonlySet<number>, sliceChars = PARSE_SLICE_CHARS): Promise<number> {
  let slices = 0;
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', Math.min(text.length, at + sliceChars));
    if (end < 0) end = text.length;
    parseProcNetTcp(text.slice(at, end + 1), into, localPorts);
    slices++;
    at = end + 1;
    if (at < text.length) await new Promise((r) => setImmediate(r));
  }
  return slices;
}

/** The process's poller, shared by every HTTP-FLV and WS-FLV viewer. */
export const tcpQueues = new TcpQueues();
