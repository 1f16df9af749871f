import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { Subscriber, type BackpressureLimits, type DrainListener } from '../Subscriber.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from './flvOut.js';
import { endSoon } from './teardown.js';

/** Where an FLV viewer's bytes go: an HTTP response or a WebSocket. */
export interface FlvSink {
  /**
   * Hands one batch (`bytes` in all) to the socket as one write, or one corked run of writes
   * for a large one (see joinBatch); the sink calls the subscriber's `drained()` once it has gone.
   */
  write(chunks: readonly Uint8Array[], bytes: number): void;
  /** Bytes the socket holds that the kernel has not taken yet. */
  buffered(): number;
  /**
   * The kernel's side, given only where it can be seen (Linux, see tcpQueues): bytes it holds
   * that the peer has not acknowledged, at the last poll (undefined before the first).
   */
  kernelQueued?(): number | undefined;
  /** Looks at the kernel more often (see tcpQueues' FAST_POLL_MS). */
  kernelFast?(): void;
  /** Ends the connection, once: politely when `clean` (stream ended), else destroyed (cut). */
  end(reason: string, clean: boolean): void;
}

/**
 * A batch goes to the socket only while it holds less than this. Above it the kernel's send
 * buffer is full (the viewer is not reading fast enough) and tags wait here instead, where a
 * keyframe can replace them, rather than in the socket, where nothing can.
 */
export const WRITE_CAP_BYTES = 64 << 10;
/**
 * The same for the kernel's send buffer, when it can be seen: it would otherwise take up to
 * tcp_wmem's maximum (4 MiB) per viewer that stopped reading. 512 KiB is 2 s of a 2 Mbit/s
 * stream in flight, more than any viewer that keeps up needs.
 */
export const KERNEL_CAP_BYTES = 512 << 10;
/** No byte acknowledged for this long (or half of stallCutMs if less): stop writing, see kernelStuck. */
const STUCK_MS = 1000;

/**
 * A batch as one buffer when that is cheap to copy; undefined for a large one (a GOP replay
 * on join, ~100 KB a viewer), which a thousand joins would turn into a hundred megabytes of
 * copies and garbage: the sinks write its tags under one cork instead.
 */
export function joinBatch(chunks: readonly Uint8Array[], bytes: number): Uint8Array | undefined {
  if (chunks.length === 1) return chunks[0];
  return bytes <= WRITE_CAP_BYTES ? Buffer.concat(chunks, bytes) : undefined;
}

/**
 * One HTTP-FLV or WebSocket-FLV viewer: the FLV header, onMetaData and the codec configs on
 * join, then a tag per frame, shared with every other FLV viewer of the stream (see flvOut).
 *
 * Tags of one turn of the event loop go out as one write (a GOP replay on join, a burst from
 * the publisher's socket), and only while the socket takes them (WRITE_CAP_BYTES). A viewer
 * whose socket has not drained for `stallCutMs` (Node's buffer stayed full, or the kernel
 * saw no byte acknowledged while it held some) is cut; until then, each keyframe replaces the
 * media still queued here, so a slow viewer skips to live instead of falling behind.
 */
export class FlvSubscriber extends Subscriber {
  private headerSent = false;
  private lastTs = 0;
  /** Configs the viewer has: the stream passes both each time either changes. */
  private sentVideo: CodecConfig | undefined;
  private sentAudio: CodecConfig | undefined;
  private sentMetadata: Record<string, unknown> | undefined;
  /** Tags not yet handed to the socket, and which of them a keyframe must not replace. */
  private queue: Uint8Array[] = [];
  private keep: boolean[] = [];
  private queuedBytes = 0;
  private flushQueued = false;
  /** Audio tags wait for the next video frame, or this timer (see send). */
  private mergeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly mergeWriteMs: number;
  private readonly busyMergeWriteMs: number;
  private readonly load: { readonly busy: boolean } | undefined;
  /** When a flush was first held back (for any reason), ms; cleared when a batch goes out. */
  private blockedSince: number | undefined;
  /**
   * When a flush first found Node's own buffer full (the kernel refused more: evidence that
   * the socket is not draining), ms; cleared once it is below WRITE_CAP_BYTES again. Only
   * this, or kernel samples (see sampled), may cut a viewer: a flush held back by the kernel
   * estimate alone is no evidence, since the estimate counts everything written since the
   * last sample as unacknowledged, and samples can be seconds late on a loaded server.
   */
  private socketFullSince: number | undefined;
  /**
   * Bytes the peer certainly acknowledged by the last kernel sample (the highest lower bound
   * seen, see sampled), and when that last grew, ms.
   */
  private acked = -1;
  private progressAt: number;
  /**
   * The kernel samples found the peer acknowledging nothing for STUCK_MS while the kernel held
   * a batch or more: writing on would only fill kernel memory for a viewer that may never read
   * again, so tags wait here (a keyframe replaces them) until it acknowledges.
   */
  private kernelStuck = false;
  /** A cut is queued (see cut). */
  private cutting = false;
  /** The last kernel sample: what it held, and what had been handed to it by then. */
  private sample: { tx: number; handed: number } | undefined;
  /** Bytes given to the sink so far. */
  private written = 0;
  /** handed() and bytesSent when the current kernel poll began (see pollStarted). */
  private handedAtPoll: number | undefined;
  private sentAtPoll = 0;
  /** What may be handed to the kernel beyond what it acknowledged (see setNetworkCap). */
  private kernelCap = KERNEL_CAP_BYTES;
  private drainListener: DrainListener | undefined;
  onClosed: ((reason: string) => void) | undefined;

  constructor(
    id: string,
    protocol: 'http-flv' | 'ws-flv',
    remoteAddress: string,
    limits: BackpressureLimits & { mergeWriteMs?: number; busyMergeWriteMs?: number; load?: { readonly busy: boolean } },
    private readonly sink: FlvSink,
    /** A viewer whose socket stays full this long has stopped reading: it is cut. */
    private readonly stallCutMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    super(id, protocol, remoteAddress, limits);
    this.mergeWriteMs = limits.mergeWriteMs ?? 0;
    this.busyMergeWriteMs = limits.busyMergeWriteMs ?? 0;
    this.load = limits.load;
    this.progressAt = now();
    // Until the first sample, count everything handed to the kernel as held by it.
    if (sink.kernelQueued) this.sample = { tx: 0, handed: 0 };
  }

  override deliver(frame: MediaFrame): void {
    if (this.isClosed || this.cutting) return;
    if (this.socketFullSince !== undefined) {
      const stalled = this.now() - this.socketFullSince;
      if (stalled >= this.stallCutMs) return this.cut(`viewer stalled: its socket did not drain for ${stalled} ms`);
    }
    if (this.blockedSince !== undefined && frame.kind === 'video' && frame.keyframe) this.dropQueuedMedia();
    super.deliver(frame);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    if (!this.headerSent) {
      this.headerSent = true;
      this.send(flvFileHeader(video !== undefined, audio !== undefined), true);
      this.sentMetadata = metadata;
      const md = flvMetadataTag(metadata, video, audio);
      if (md) this.send(md, true);
    } else if (metadata && metadata !== this.sentMetadata) {
      // A new publisher's onMetaData (players take a second one mid-stream).
      this.sentMetadata = metadata;
      const md = flvMetadataTag(metadata, video, audio);
      if (md) this.send(md, true);
    }
    // A config change mid-stream goes out stamped with the latest frame's time.
    const newVideo = video !== this.sentVideo ? video : undefined;
    const newAudio = audio !== this.sentAudio ? audio : undefined;
    if (video) this.sentVideo = video;
    if (audio) this.sentAudio = audio;
    for (const tag of flvConfigTags(newVideo, newAudio, this.lastTs)) this.send(tag, true);
  }

  /** The socket took what it held: send what waited. */
  drained(): void {
    if (!this.isClosed) this.flush();
  }

  /** A kernel poll begins (see tcpQueues.watch): what was handed by now is in the sample. */
  pollStarted(): void {
    this.handedAtPoll = this.handed();
    this.sentAtPoll = this.bytesSent;
  }

  override followDrain(onSample: DrainListener): boolean {
    if (!this.sink.kernelQueued) return false;
    this.sink.kernelFast?.();
    this.drainListener = onSample;
    return true;
  }

  override setNetworkCap(bytes: number): void {
    this.kernelCap = Math.max(WRITE_CAP_BYTES / 2, Math.min(KERNEL_CAP_BYTES, bytes));
  }

  /** A new kernel sample (see tcpQueues): cut a peer that acknowledges nothing, send what waited. */
  sampled(): void {
    if (this.isClosed || this.cutting) return;
    const queued = this.sink.kernelQueued?.();
    const atPoll = this.handedAtPoll;
    this.handedAtPoll = undefined;
    if (queued !== undefined) {
      const now = this.now();
      // The kernel read its row at some moment of the poll: it held what was handed by the
      // poll's start, maybe more. So handedAtPoll - queued is a lower bound of what the peer
      // acknowledged, and progress is judged on lower bounds only. (Taking what was handed at
      // this reading instead, writes made during the poll counted as acknowledged; the next,
      // exact sample then fell below that inflated mark and an honest reader looked silent.)
      const handed = atPoll ?? this.handed();
      this.sample = { tx: queued, handed };
      // At the poll's start: queued here so far, less what the peer acknowledged (a lower bound).
      if (this.drainListener && atPoll !== undefined) this.drainListener(now, this.sentAtPoll, Math.max(0, this.sentAtPoll - (handed - queued)), queued);
      const acked = handed - queued;
      const progressed = acked > this.acked || queued === 0;
      if (progressed) {
        this.acked = Math.max(this.acked, acked);
        this.progressAt = now;
        this.kernelStuck = false;
      } else {
        const silent = now - this.progressAt;
        // A viewer holding a batch or more is stopped first (and skips to keyframes for a
        // sample or more), then cut; one holding less has nothing to skip.
        if (silent >= this.stallCutMs && (this.kernelStuck || queued < WRITE_CAP_BYTES)) return this.cut(`viewer stalled: nothing acknowledged for ${silent} ms`);
        this.kernelStuck = silent >= Math.min(STUCK_MS, this.stallCutMs / 2) && queued >= WRITE_CAP_BYTES;
      }
    }
    this.flush();
  }

  protected writeFrame(frame: MediaFrame): void {
    if (!this.headerSent) return;
    this.lastTs = frame.dts;
    const tag = flvFrameTag(frame);
    if (tag) this.send(tag, false, frame.kind === 'video');
  }

  pendingBytes(): number {
    // queued + buffered + kernelHeld(), with Node's buffer cancelled out where a kernel sample
    // exists (kernelHeld subtracts it again): the sink's getters run per frame per viewer.
    const buffered = this.sample ? 0 : this.sink.buffered();
    return this.queuedBytes + buffered + this.kernelHeld(buffered);
  }

  protected onClose(reason: string, clean: boolean): void {
    // A clean end sends what the socket can still take now; a cut throws it all away.
    if (clean && this.blockedSince === undefined && this.queuedBytes > 0 && this.sink.buffered() < WRITE_CAP_BYTES) this.writeQueue();
    clearTimeout(this.mergeTimer);
    this.queue = [];
    this.keep = [];
    this.queuedBytes = 0;
    this.sink.end(reason, clean);
    this.onClosed?.(reason);
  }

  /**
   * Closes a stalled viewer a few turns later, with the others cut at the same moment: viewers
   * that stopped together (one attacker's thousand sockets) stall out on the same frame or the
   * same kernel sample, and closing them all in that one turn would stop the loop for it.
   */
  private cut(reason: string): void {
    if (this.cutting) return;
    this.cutting = true;
    endSoon(() => this.close(reason));
  }

  /**
   * Queues a tag. Video (and headers, configs) leave at the end of this turn; an audio tag may
   * wait up to mergeWriteMs for the next video frame and leave in its write. A write costs a
   * syscall and, on loopback or a LAN, the receiver's packet handling, whatever its size: at
   * 30 fps with ~47 audio frames a second that is ~77 writes a second per viewer where ~30 do,
   * and a thousand viewers pay it a thousand times (SRS's merged write, mw_latency, is the
   * same trade at a larger scale). Audio arrives at most mergeWriteMs later, far inside any
   * player's buffer.
   *
   * While the event loop is busy (LoopLoad), video waits too, up to busyMergeWriteMs: at 30 fps
   * and 100 ms that is ~10 writes a second instead of ~30, for at most 100 ms more delay, and
   * only while the alternative is every connection on the server waiting for the loop.
   */
  private send(chunk: Uint8Array, keep: boolean, urgent = true): void {
    this.bytesSent += chunk.length;
    this.queue.push(chunk);
    this.keep.push(keep);
    this.queuedBytes += chunk.length;
    // A blocked viewer is flushed by drained() or sampled(), not once per frame.
    if (this.flushQueued || this.blockedSince !== undefined) return;
    const wait = this.busyMergeWriteMs > 0 && this.load?.busy ? Math.max(this.busyMergeWriteMs, this.mergeWriteMs) : urgent ? 0 : this.mergeWriteMs;
    if (wait > 0) {
      this.mergeTimer ??= setTimeout(() => {
        this.mergeTimer = undefined;
        if (!this.isClosed && !this.flushQueued) this.flush();
      }, wait);
      return;
    }
    clearTimeout(this.mergeTimer);
    this.mergeTimer = undefined;
    this.flushQueued = true;
    // After the current fan-out: everything delivered in this turn leaves in one write.
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.isClosed) this.flush();
    });
  }

  private flush(): void {
    // Node's buffer is looked at even with nothing to send: a drained socket clears the clock.
    const buffered = this.sink.buffered();
    const socketFull = buffered >= WRITE_CAP_BYTES;
    if (socketFull) this.socketFullSince ??= this.now();
    else this.socketFullSince = undefined;
    if (this.queuedBytes === 0) return;
    if (this.kernelStuck || socketFull || this.kernelHeld(buffered) >= this.kernelCap) {
      this.blockedSince ??= this.now();
      return; // the sink calls drained() when the socket empties, sampled() after each kernel poll
    }
    this.blockedSince = undefined;
    this.writeQueue();
  }

  /**
   * What the kernel holds at most now: the last sample plus everything handed to it since (as
   * if nothing was acknowledged), so a burst between two samples cannot overrun the cap.
   * `buffered` is the sink's buffered() (handed() = written - buffered), passed in because the
   * callers have it, or pass 0 where they add it back (pendingBytes).
   */
  private kernelHeld(buffered: number): number {
    if (!this.sample) return 0;
    return this.sample.tx + this.written - buffered - this.sample.handed;
  }

  /**
   * Bytes handed to the kernel so far: what went to the sink less what Node still holds. It
   * leaves out HTTP chunk and WebSocket frame headers (a few bytes a write), which only makes
   * a viewer that writes on without acknowledgements look less, never more, like progress.
   */
  private handed(): number {
    return this.written - this.sink.buffered();
  }

  private writeQueue(): void {
    const chunks = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.keep = [];
    this.queuedBytes = 0;
    this.written += bytes;
    this.sink.write(chunks, bytes);
  }

  /** A keyframe is coming to a blocked viewer: the media queued before it is stale. */
  private dropQueuedMedia(): void {
    let bytes = 0;
    const queue: Uint8Array[] = [];
    const keep: boolean[] = [];
    for (let i = 0; i < this.queue.length; i++) {
      if (!this.keep[i]) {
        this.skippedFrames++;
        this.bytesSent -= this.queue[i]!.length;
        continue;
      }
      queue.push(this.queue[i]!);
      keep.push(true);
      bytes += this.queue[i]!.length;
    }
    this.queue = queue;
    this.keep = keep;
    this.queuedBytes = bytes;
  }
}
