import { decodeAmf0 } from '../../media/amf0.js';
import { parseAudioTag, parseVideoTag } from '../../media/flv/tagBody.js';
import { MediaParseError, type DemuxOutput } from '../../media/frame.js';
import type { Publisher } from '../Publisher.js';
import type { Stream } from '../Stream.js';
import { MessageType } from './messages.js';

/** Why a media message was dropped; the connection counts these and logs the first of each. */
export type DropReason = 'bad media' | 'bad metadata' | 'refused by stream';

/**
 * The source side of one RTMP publish: message payloads (FLV tag bodies, AMF0 data) in,
 * configs, frames and metadata pushed into the Stream. Drops what it can't parse and tells
 * the caller why; never throws.
 */
export class RtmpPublisher implements Publisher {
  readonly protocol = 'rtmp';

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    readonly stream: Stream,
    /** Ends the RTMP connection (an operator kicked it, or the stream closed). */
    private readonly kick: (reason: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  close(reason: string): void {
    this.kick(reason);
  }

  /** One audio, video, data or aggregate message; returns why it was dropped, if it was. */
  handle(type: number, payload: Uint8Array, timestamp: number): DropReason | undefined {
    try {
      if (type === MessageType.Audio) return this.push(parseAudioTag(payload, timestamp));
      if (type === MessageType.Video) return this.push(parseVideoTag(payload, timestamp));
      if (type === MessageType.DataAmf0) return this.data(payload);
      if (type === MessageType.DataAmf3) return this.data(payload.subarray(1));
      if (type === MessageType.Aggregate) return this.aggregate(payload, timestamp);
      return undefined;
    } catch (err) {
      if (err instanceof MediaParseError) return type === MessageType.Audio || type === MessageType.Video ? 'bad media' : 'bad metadata';
      throw err;
    }
  }

  private push(outputs: DemuxOutput[]): DropReason | undefined {
    let refused = false;
    for (const out of outputs) {
      if (out.type === 'config') this.stream.pushConfig(out.config, this);
      else if (out.type === 'metadata') this.stream.pushMetadata(out.values, this);
      else {
        const before = this.stream.framesDropped;
        const now = this.now();
        out.frame.captureTime ??= now;
        this.stream.pushFrame(out.frame, now, this);
        // Video before its config, or time going backwards: the Stream refuses and counts it.
        if (this.stream.framesDropped !== before) refused = true;
      }
    }
    return refused ? 'refused by stream' : undefined;
  }

  /** "@setDataFrame", "onMetaData", {…} from OBS and ffmpeg, or "onMetaData", {…} directly. */
  private data(payload: Uint8Array): DropReason | undefined {
    const values = decodeAmf0(payload);
    let i = 0;
    if (values[i] === '@setDataFrame') i++;
    if (values[i] !== 'onMetaData') return undefined;
    const md = values[i + 1];
    if (typeof md !== 'object' || md === null || Array.isArray(md)) return 'bad metadata';
    this.stream.pushMetadata({ ...(md as Record<string, unknown>) }, this);
    return undefined;
  }

  /**
   * Aggregate messages carry FLV tags back to back (header, body, back-pointer); their times
   * are relative to the first tag's, which maps to the message's own timestamp.
   */
  private aggregate(payload: Uint8Array, timestamp: number): DropReason | undefined {
    let pos = 0;
    let first: number | undefined;
    let dropped: DropReason | undefined;
    while (pos + 11 <= payload.length) {
      const type = payload[pos]!;
      const size = (payload[pos + 1]! << 16) | (payload[pos + 2]! << 8) | payload[pos + 3]!;
      const ts = ((payload[pos + 7]! << 24) | (payload[pos + 4]! << 16) | (payload[pos + 5]! << 8) | payload[pos + 6]!) >>> 0;
      if (pos + 11 + size > payload.length) return 'bad media';
      first ??= ts;
      const body = payload.subarray(pos + 11, pos + 11 + size);
      if (type === MessageType.Audio || type === MessageType.Video || type === MessageType.DataAmf0) {
        dropped = this.handle(type, body, (timestamp + ts - first) >>> 0) ?? dropped;
      }
      pos += 11 + size + 4;
    }
    return dropped;
  }
}
