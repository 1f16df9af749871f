import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

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
/** "  12: 0100007F:1F90 0100007F:D2F4 01 0001A2B3:00000000 ..." (v6 addresses are longer). */
const LINE = /^\s*\d+: [0-9A-F]+:([0-9A-F]{4}) [0-9A-F]+:([0-9A-F]{4}) [0-9A-F]{2} ([0-9A-F]{8}):/gm;

/** Marks a port pair seen twice (two clients with the same port on different addresses). */
const AMBIGUOUS = -1;

/**
 * Adds each socket of a /proc/net/tcp text to `into`: "localPort:remotePort" -> tx_queue
 * bytes. Ports, not addresses, name a socket (a listener's sockets differ by the client's
 * port); a pair seen twice is marked ambiguous and reads as unknown.
 */
export function parseProcNetTcp(text: string, into: Map<string, number>): void {
  LINE.lastIndex = 0;
  for (let m = LINE.exec(text); m; m = LINE.exec(text)) {
    const key = `${parseInt(m[1]!, 16)}:${parseInt(m[2]!, 16)}`;
    into.set(key, into.has(key) ? AMBIGUOUS : parseInt(m[3]!, 16));
  }
}

export interface KernelQueue {
  /** Bytes the kernel holds for the peer at the last poll; undefined when unknown. */
  readonly tx: number | undefined;
  stop(): void;
}

interface Watch {
  key: string;
  tx: number | undefined;
  onSample: () => void;
  onPollStart: (() => void) | undefined;
}

/** One poller for every watched socket; it runs only while something is watched. */
export class TcpQueues {
  readonly available = process.platform === 'linux' && existsSync(FILES[0]!);
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly pollMs = POLL_MS) {}

  /**
   * Follows the socket localPort -> remotePort; `onSample` runs after each poll. `onPollStart`
   * runs just before the kernel is read: the file is read in several chunks, turns of the event
   * loop apart, so a row may show the socket as it was at any moment between the two calls,
   * and whatever the caller wrote in between may or may not be in its tx_queue.
   */
  watch(localPort: number | undefined, remotePort: number | undefined, onSample: () => void, onPollStart?: () => void): KernelQueue {
    const w: Watch = { key: `${localPort}:${remotePort}`, tx: undefined, onSample, onPollStart };
    if (!this.available || localPort === undefined || remotePort === undefined) return { tx: undefined, stop: () => undefined };
    this.watches.add(w);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
    return {
      get tx() {
        return w.tx;
      },
      stop: () => {
        this.watches.delete(w);
        if (this.watches.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      },
    };
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow read (a huge table): skip a turn rather than pile up
    this.polling = true;
    for (const w of this.watches) w.onPollStart?.();
    try {
      const table = new Map<string, number>();
      for (const f of FILES) {
        try {
          parseProcNetTcp(await readFile(f, 'latin1'), table);
        } catch {
          /* no IPv6 here */
        }
      }
      for (const w of this.watches) {
        const tx = table.get(w.key);
        w.tx = tx === undefined || tx === AMBIGUOUS ? undefined : tx;
        w.onSample();
      }
    } finally {
      this.polling = false;
    }
  }
}

/** The process's poller, shared by every HTTP-FLV and WS-FLV viewer. */
export const tcpQueues = new TcpQueues();
