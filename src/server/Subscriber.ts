import type { CodecConfig, MediaFrame } from '../media/frame.js';

/** Limits that keep a viewer's memory bounded whatever its network does. */
export interface BackpressureLimits {
  /** Above this many queued bytes, video is skipped until the next keyframe. Default 2 MiB. */
  skipBytes: number;
  /** Above this many queued bytes the viewer is cut. Default 8 MiB. */
  cutBytes: number;
}

/**
 * An exact look at a viewer's queue at `at` (ms): bytes queued for it so far, those its peer
 * has not taken yet, and of those the ones the network (the kernel) holds.
 */
export type DrainListener = (at: number, sentBytes: number, pendingBytes: number, networkBytes: number) => void;

export const DEFAULT_LIMITS: BackpressureLimits = { skipBytes: 2 << 20, cutBytes: 8 << 20 };

/**
 * One viewer of a Stream, in any output protocol. Subclasses turn frames into bytes
 * (FLV tags, fMP4 fragments, transport messages) and report what their socket still holds.
 *
 * The base class owns the slow-viewer policy: a viewer whose queue grows past `skipBytes`
 * stops receiving video until the next keyframe (so it catches up to live instead of
 * buffering), and one past `cutBytes` is closed. Frames are never buffered without limit here.
 */
export abstract class Subscriber {
  readonly createdAt = Date.now();
  /** Frames skipped by the slow-viewer policy. */
  skippedFrames = 0;
  bytesSent = 0;
  private waitingForKeyframe = true;
  private closed = false;

  constructor(
    readonly id: string,
    /** 'http-flv', 'ws-flv', 'll-hls', 'rtmp', 'tributary' */
    readonly protocol: string,
    readonly remoteAddress: string,
    protected readonly limits: BackpressureLimits = DEFAULT_LIMITS,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once when the viewer joins, and again if the publisher changes codec config. */
  abstract onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void;
  /** Writes one frame out. Only called by `deliver`, after the backpressure policy. */
  protected abstract writeFrame(frame: MediaFrame): void;
  /** Bytes accepted but not yet handed to the network (socket buffer, pending queue). */
  abstract pendingBytes(): number;
  /**
   * The viewer leaves: `clean` when the stream ended (its publisher did not come back within
   * the grace, or the server is shutting down), so the connection may be ended politely;
   * otherwise it was cut or its socket went away, and whatever it still holds is thrown away.
   */
  protected abstract onClose(reason: string, clean: boolean): void;

  /** Called by the Stream for every frame (and for the GOP replay on join). */
  deliver(frame: MediaFrame): void {
    if (this.closed) return;
    const pending = this.pendingBytes();
    if (pending > this.limits.cutBytes) {
      this.close(`viewer too slow: ${pending} bytes queued`);
      return;
    }
    if (frame.kind === 'video') {
      if (frame.keyframe && pending <= this.limits.skipBytes) this.waitingForKeyframe = false;
      else if (pending > this.limits.skipBytes) this.waitingForKeyframe = true;
      if (this.waitingForKeyframe) {
        this.skippedFrames++;
        return;
      }
    } else if (pending > this.limits.skipBytes) {
      this.skippedFrames++;
      return;
    }
    this.writeFrame(frame);
  }

  /**
   * For a rendition switcher (AutoQuality): exact samples of what the viewer's peer took, each
   * time the protocol looks at its network, at a short interval. False when this viewer cannot
   * see its network (the caller samples pendingBytes itself).
   */
  followDrain(_onSample: DrainListener): boolean {
    return false;
  }

  /**
   * Bounds what may wait in the network's buffers (the kernel's), where no later decision can
   * reach it: the rest waits here, where a keyframe replaces it. Only where that is visible.
   */
  setNetworkCap(_bytes: number): void {}

  /**
   * A new publisher took over the stream: its first video frames may not be keyframes, and a
   * decoder fed a P-frame of the new encoder with the old one's references shows garbage.
   */
  resync(): void {
    this.waitingForKeyframe = true;
  }

  /** Idempotent. */
  close(reason: string, clean = false): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(reason, clean);
  }
}
