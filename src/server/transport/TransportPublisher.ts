import { decodeMessage, type SenderReport, type TributaryMessage } from '../../media/tributary/index.js';
import { MediaParseError } from '../../media/frame.js';
import type { Publisher } from '../Publisher.js';
import type { Stream } from '../Stream.js';
import type { PathStats } from '../../transport/api.js';

/** A capture time further than this from the server's clock is a lie or a broken clock: ignored. */
const MAX_CLOCK_SKEW_MS = 60 * 60 * 1000;

/**
 * The source side of one publish over the transport: media messages in, configs, metadata and
 * frames pushed into the Stream. Tracks the ingest delay (server clock minus the sender's
 * capture stamp). Drops and counts what it can't parse; never throws.
 */
export class TransportPublisher implements Publisher {
  readonly protocol = 'tributary';
  /** Smoothed age of frames on arrival, ms (undefined until a stamped frame came). */
  ingestDelayMs: number | undefined;
  lastIngestDelayMs: number | undefined;
  dropped = 0;
  frames = 0;
  private report: { report: SenderReport; at: number } | undefined;
  /** Who the stream knows as the publisher (a cluster Relay wraps this decoder): pushes are made as it. */
  source: Publisher = this;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    readonly stream: Stream,
    private readonly kick: (reason: string) => void,
    private readonly now: () => number = Date.now,
    private readonly pathStats: () => PathStats[] = () => [],
  ) {}

  paths(): PathStats[] {
    return this.pathStats();
  }

  senderReport(): { report: SenderReport; at: number } | undefined {
    return this.report;
  }

  close(reason: string): void {
    this.kick(reason);
  }

  /** One message after the hello; returns the decoded message (for the caller's end/hello checks) or undefined when dropped. */
  handle(data: Uint8Array): TributaryMessage | undefined {
    let m: TributaryMessage;
    try {
      m = decodeMessage(data);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.dropped++;
      return undefined;
    }
    if (m.type === 'config') this.stream.pushConfig(m.config, this.source);
    else if (m.type === 'metadata') this.stream.pushMetadata(m.values, this.source);
    else if (m.type === 'report') this.report = { report: m.report, at: this.now() };
    else if (m.type === 'frame') {
      const now = this.now();
      const f = m.frame;
      if (f.captureTime !== undefined) {
        const age = now - f.captureTime;
        if (Math.abs(age) <= MAX_CLOCK_SKEW_MS) {
          this.lastIngestDelayMs = age;
          this.ingestDelayMs = this.ingestDelayMs === undefined ? age : 0.9 * this.ingestDelayMs + 0.1 * age;
        } else f.captureTime = now;
      } else f.captureTime = now;
      const before = this.stream.framesDropped;
      this.stream.pushFrame(f, now, this.source);
      if (this.stream.framesDropped !== before) this.dropped++;
      else this.frames++;
    }
    return m;
  }
}
