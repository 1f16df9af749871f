import { MessageType, type RtmpMessage } from './messages.js';

/** A violation that ends the connection; `reason` is a short stable key for stats. */
export class RtmpProtocolError extends Error {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'RtmpProtocolError';
  }
}

export interface ChunkReaderLimits {
  /** A message longer than this ends the connection. Default 8 MiB (the field allows 16). */
  maxMessageBytes: number;
  /** Chunk streams one connection may use. Default 64. */
  maxChunkStreams: number;
  /**
   * Bytes this reader holds for unfinished messages across all chunk streams: the buffers'
   * capacity plus a fixed cost per buffer and per chunk stream, not just the payload bytes
   * that arrived. Default 16 MiB + 64 KiB: two messages of the largest size and the fixed costs.
   */
  maxBufferedBytes: number;
}

/**
 * Where the reader asks before it allocates, so that many connections together stay within a
 * server-wide budget (MemoryBudget's BudgetAccount fits). A false from `grow` ends the
 * connection with 'memory budget'.
 */
export interface MemoryAccount {
  grow(bytes: number): boolean;
  shrink(bytes: number): void;
}

/** What one assembly buffer costs beyond its bytes (the Uint8Array and its ArrayBuffer), and one chunk stream's state. */
export const BUFFER_OVERHEAD = 128;
export const CHUNK_STREAM_OVERHEAD = 160;
/** An unfinished message's first buffer is at most this, or what arrived, whichever is larger. */
const FIRST_BUFFER = 4096;

export const DEFAULT_CHUNK_LIMITS: ChunkReaderLimits = { maxMessageBytes: 8 << 20, maxChunkStreams: 64, maxBufferedBytes: (16 << 20) + (64 << 10) };

/** Chunk sizes outside this range end the connection (0 would loop forever; huge is abuse). */
export const MAX_CHUNK_SIZE = 1 << 24;

interface ChunkStream {
  timestamp: number;
  /** The delta a type-3 header starting a new message adds (the last header's time field). */
  delta: number;
  length: number;
  type: number;
  streamId: number;
  extended: boolean;
  /** The message being assembled: bytes [0, received) are in; undefined between messages. */
  buf: Uint8Array | undefined;
  received: number;
}

const MESSAGE_HEADER = [11, 7, 3, 0];

/**
 * Reassembles RTMP messages from chunks, sans-IO: `push(bytes)` as they arrive; each complete
 * message goes to `onMessage` synchronously, in order, so a Set Chunk Size handled there... is
 * handled here instead: Set Chunk Size and Abort change how the following bytes parse, so the
 * reader applies them itself (and still reports them).
 *
 * Handles chunk types 0-3, 1-3 byte basic headers, extended timestamps (repeated on type-3
 * chunks when the stream's last header used one), per-stream state. Throws RtmpProtocolError on
 * anything that makes the rest of the byte stream meaningless; the caller closes the connection.
 *
 * Memory: an unfinished message is one buffer that grows geometrically with what arrived (never
 * sized from the claimed length beyond FIRST_BUFFER), into which each chunk's bytes are copied,
 * so no view on a socket's read buffer outlives `push` and chunk size 1 costs O(1) objects per
 * message. `retained` is what that holds, counted before each allocation against
 * `maxBufferedBytes` and the optional MemoryAccount.
 */
export class ChunkReader {
  chunkSize = 128;
  private readonly streams = new Map<number, ChunkStream>();
  private readonly hdr = new Uint8Array(18);
  private hdrLen = 0;
  /** The chunk stream whose payload is being read, and how many payload bytes this chunk still has. */
  private current: ChunkStream | undefined;
  private currentCsid = 0;
  private chunkLeft = 0;
  /** Bytes held for unfinished messages, overheads included (see maxBufferedBytes). */
  retained = 0;
  private disposed = false;
  /** Messages dropped by an Abort or a new header over an unfinished one. */
  dropped = 0;

  constructor(
    private readonly onMessage: (msg: RtmpMessage) => void,
    private readonly limits: ChunkReaderLimits = DEFAULT_CHUNK_LIMITS,
    private account?: MemoryAccount,
  ) {}

  /** Stops charging the account (its owner has given back what was charged, or will). */
  detachAccount(): void {
    this.account = undefined;
  }

  push(data: Uint8Array): void {
    let pos = 0;
    while (pos < data.length && !this.disposed) {
      if (this.current) {
        const take = Math.min(this.chunkLeft, data.length - pos);
        const cs = this.current;
        this.ensure(cs, cs.received + take);
        const buf = cs.buf!;
        // A view per chunk costs more than the bytes at small chunk sizes (an attacker's 1):
        // short chunks are copied byte by byte.
        if (take <= 16) for (let i = 0; i < take; i++) buf[cs.received + i] = data[pos + i]!;
        else buf.set(data.subarray(pos, pos + take), cs.received);
        cs.received += take;
        this.chunkLeft -= take;
        pos += take;
        if (this.chunkLeft === 0) this.endChunk(cs);
        continue;
      }
      // The common case at small chunk sizes: a 1-byte type-3 header continuing a message.
      const b = data[pos]!;
      if (this.hdrLen === 0 && b >= 0xc2) {
        const cs = this.streams.get(b & 0x3f);
        if (cs?.buf && !cs.extended) {
          pos++;
          this.current = cs;
          this.currentCsid = b & 0x3f;
          this.chunkLeft = Math.min(this.chunkSize, cs.length - cs.received);
          continue;
        }
      }
      pos = this.readHeader(data, pos);
    }
  }

  /** Copies header bytes until a whole header is present; returns the new position. */
  private readHeader(data: Uint8Array, pos: number): number {
    const h = this.hdr;
    while (pos < data.length) {
      const need = this.headerLength();
      if (this.hdrLen >= need) break;
      h[this.hdrLen++] = data[pos++]!;
    }
    const need = this.headerLength();
    if (this.hdrLen < need) return pos;
    this.applyHeader();
    this.hdrLen = 0;
    return pos;
  }

  /** Bytes the header in `hdr` needs, as far as what is already read can tell. */
  private headerLength(): number {
    const h = this.hdr;
    if (this.hdrLen < 1) return 1;
    const fmt = h[0]! >> 6;
    const low = h[0]! & 0x3f;
    const basic = low === 0 ? 2 : low === 1 ? 3 : 1;
    let n = basic + MESSAGE_HEADER[fmt]!;
    if (this.hdrLen < n) return n;
    if (fmt < 3) {
      const ts = (h[basic]! << 16) | (h[basic + 1]! << 8) | h[basic + 2]!;
      if (ts === 0xffffff) n += 4;
    } else if (this.hdrLen >= basic) {
      const cs = this.streams.get(this.csidOf(basic));
      if (cs?.extended) n += 4;
    }
    return n;
  }

  private csidOf(basic: number): number {
    const h = this.hdr;
    if (basic === 1) return h[0]! & 0x3f;
    if (basic === 2) return 64 + h[1]!;
    return 64 + h[1]! + h[2]! * 256;
  }

  private applyHeader(): void {
    const h = this.hdr;
    const fmt = h[0]! >> 6;
    const low = h[0]! & 0x3f;
    const basic = low === 0 ? 2 : low === 1 ? 3 : 1;
    const csid = this.csidOf(basic);
    let cs = this.streams.get(csid);
    if (!cs) {
      if (fmt !== 0) throw new RtmpProtocolError('bad chunk header', `type ${fmt} chunk opens chunk stream ${csid}`);
      if (this.streams.size >= this.limits.maxChunkStreams) throw new RtmpProtocolError('too many chunk streams', `more than ${this.limits.maxChunkStreams}`);
      this.charge(CHUNK_STREAM_OVERHEAD);
      cs = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, buf: undefined, received: 0 };
      this.streams.set(csid, cs);
    }
    const p = basic;
    const inProgress = cs.buf !== undefined;
    if (fmt < 3) {
      if (inProgress) this.discard(cs);
      let field = (h[p]! << 16) | (h[p + 1]! << 8) | h[p + 2]!;
      cs.extended = field === 0xffffff;
      if (cs.extended) field = new DataView(h.buffer).getUint32(p + MESSAGE_HEADER[fmt]!);
      if (fmt <= 1) {
        const length = (h[p + 3]! << 16) | (h[p + 4]! << 8) | h[p + 5]!;
        if (length > this.limits.maxMessageBytes) throw new RtmpProtocolError('message too long', `${length} bytes > ${this.limits.maxMessageBytes}`);
        cs.length = length;
        cs.type = h[p + 6]!;
      }
      if (fmt === 0) {
        cs.streamId = new DataView(h.buffer).getUint32(p + 7, true);
        cs.timestamp = field;
      } else {
        cs.timestamp = (cs.timestamp + field) >>> 0;
      }
      cs.delta = field;
      cs.received = 0;
    } else if (!inProgress) {
      // A type-3 chunk starting a new message repeats the last header, advancing time by its delta.
      cs.timestamp = (cs.timestamp + cs.delta) >>> 0;
      cs.received = 0;
    }
    this.current = cs;
    this.currentCsid = csid;
    this.chunkLeft = Math.min(this.chunkSize, cs.length - cs.received);
    if (this.chunkLeft === 0) this.endChunk(cs);
  }

  /**
   * Makes cs.buf hold at least `need` bytes: the first buffer is what arrived or FIRST_BUFFER,
   * each growth doubles, never past the message's length. Charged before allocating.
   */
  private ensure(cs: ChunkStream, need: number): void {
    const old = cs.buf;
    if (old && old.length >= need) return;
    const cap = Math.min(cs.length, Math.max(need, old ? old.length * 2 : FIRST_BUFFER));
    this.charge(cap - (old?.length ?? 0) + (old ? 0 : BUFFER_OVERHEAD));
    const buf = new Uint8Array(cap);
    if (old) buf.set(old.subarray(0, cs.received));
    cs.buf = buf;
  }

  private charge(bytes: number): void {
    if (this.retained + bytes > this.limits.maxBufferedBytes) {
      throw new RtmpProtocolError('too much buffered', `${this.retained + bytes} bytes for unfinished messages > ${this.limits.maxBufferedBytes}`);
    }
    if (this.account && !this.account.grow(bytes)) {
      throw new RtmpProtocolError('memory budget', `the server's budget for unfinished input refused ${bytes} more bytes (this connection holds ${this.retained})`);
    }
    this.retained += bytes;
  }

  /** Frees cs.buf's charge; its bytes live on only if handed out as a message. */
  private release(cs: ChunkStream): void {
    if (!cs.buf) return;
    const bytes = cs.buf.length + BUFFER_OVERHEAD;
    this.retained -= bytes;
    this.account?.shrink(bytes);
    cs.buf = undefined;
  }

  private endChunk(cs: ChunkStream): void {
    this.current = undefined;
    if (cs.received < cs.length) return;
    // The buffer never grows past the length, so a complete message fills it exactly.
    const payload = cs.buf ?? new Uint8Array(0);
    this.release(cs);
    const msg: RtmpMessage = { csid: this.currentCsid, type: cs.type, streamId: cs.streamId, timestamp: cs.timestamp, payload };
    if (msg.type === MessageType.SetChunkSize) this.setChunkSize(payload);
    else if (msg.type === MessageType.Abort) this.abort(payload);
    this.onMessage(msg);
  }

  private setChunkSize(payload: Uint8Array): void {
    if (payload.length < 4) throw new RtmpProtocolError('bad chunk size', `set chunk size of ${payload.length} bytes`);
    const size = new DataView(payload.buffer, payload.byteOffset).getUint32(0) & 0x7fffffff;
    if (size < 1 || size > MAX_CHUNK_SIZE) throw new RtmpProtocolError('bad chunk size', `chunk size ${size}`);
    this.chunkSize = size;
  }

  private abort(payload: Uint8Array): void {
    if (payload.length < 4) return;
    const cs = this.streams.get(new DataView(payload.buffer, payload.byteOffset).getUint32(0));
    if (cs?.buf) this.discard(cs);
  }

  private discard(cs: ChunkStream): void {
    this.release(cs);
    cs.received = 0;
    this.dropped++;
  }

  /** Gives back every charge (the connection is going away); the reader is unusable after. */
  dispose(): void {
    for (const cs of this.streams.values()) this.release(cs);
    this.account?.shrink(this.streams.size * CHUNK_STREAM_OVERHEAD);
    this.retained = 0;
    this.streams.clear();
    this.current = undefined;
    this.disposed = true;
  }
}
