import type { DemuxOutput } from '../../../src/media/frame.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';

/**
 * An incremental FLV reader for the tests' viewers: checks the file framing (header, tag sizes,
 * PreviousTagSize) itself, and feeds the same bytes to the project's FlvDemuxer.
 */
export interface TagInfo {
  type: number;
  ts: number;
  size: number;
  /** First two body bytes: codec/frame-type byte and packet type. */
  b0: number;
  b1: number;
}

export class FlvReader {
  header: Uint8Array | undefined;
  tags: TagInfo[] = [];
  /** What src/media/flv's FlvDemuxer made of the bytes: metadata, configs and frames. */
  outputs: DemuxOutput[] = [];
  private demuxer = new FlvDemuxer();
  bytes = 0;
  private buf = Buffer.alloc(0);

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.outputs.push(...this.demuxer.push(new Uint8Array(chunk)));
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.header) {
      if (this.buf.length < 13) return;
      this.header = this.buf.subarray(0, 13);
      if (this.buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not FLV');
      this.buf = this.buf.subarray(13);
    }
    while (this.buf.length >= 11) {
      const size = this.buf.readUIntBE(1, 3);
      if (this.buf.length < 11 + size + 4) return;
      const ts = this.buf.readUIntBE(4, 3) | (this.buf[7]! << 24);
      const prev = this.buf.readUInt32BE(11 + size);
      if (prev !== 11 + size) throw new Error(`bad PreviousTagSize ${prev} for tag of ${size}`);
      const type = this.buf[0]!;
      this.tags.push({ type, ts, size, b0: this.buf[11] ?? 0, b1: this.buf[12] ?? 0 });
      this.buf = this.buf.subarray(11 + size + 4);
    }
  }

  get videoFrames(): number {
    return this.tags.filter((t) => t.type === 9 && t.b1 === 1).length;
  }
}
