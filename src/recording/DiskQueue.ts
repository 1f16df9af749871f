import { open } from 'node:fs/promises';

/** The part of a file handle the queue uses (node:fs/promises FileHandle has it). */
export interface WritableFile {
  writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}
export type OpenFile = (path: string, flags: 'wx' | 'a') => Promise<WritableFile>;

const openFile: OpenFile = (path, flags) => open(path, flags);

type Op =
  | { t: 'open'; path: string }
  | { t: 'data'; chunk: Uint8Array }
  | { t: 'close' }
  | { t: 'index'; line: string };

/** At most this many buffers in one writev (IOV_MAX is 1024 on Linux). */
const MAX_IOV = 512;

/**
 * One recording's writes, in order, off the event loop: segment opens, tags, segment closes
 * (fsync, then close) and index lines (append, then fsync). A segment's index line is queued
 * after its close, so what the index names is on disk: after a crash (kill -9, power loss once
 * fsync'd) every indexed segment is whole and only the open one may end mid-tag.
 *
 * Tags queue here while the disk is busy; `queuedBytes` is what the Recording checks against
 * its budget (it drops, this never refuses). The first error (disk full, permissions) stops
 * the queue: later ops are thrown away, and `error` says why.
 */
export class DiskQueue {
  private ops: Op[] = [];
  private running = false;
  private segment: WritableFile | undefined;
  private index: WritableFile | undefined;
  private waiters: (() => void)[] = [];
  queuedBytes = 0;
  bytesWritten = 0;
  error: Error | undefined;

  constructor(
    private readonly indexPath: string,
    private readonly openFn: OpenFile = openFile,
    /** Shared by every recording of a process: what they all hold, for the Recorder's total cap. */
    private readonly pool: { bytes: number } = { bytes: 0 },
  ) {}

  openSegment(path: string): void {
    this.push({ t: 'open', path });
  }

  write(chunk: Uint8Array): void {
    this.held(chunk.length);
    this.push({ t: 'data', chunk });
  }

  closeSegment(): void {
    this.push({ t: 'close' });
  }

  /** One JSON line, appended and fsync'd after everything queued before it. */
  appendIndex(record: object): void {
    this.push({ t: 'index', line: JSON.stringify(record) + '\n' });
  }

  /** Resolves when everything queued so far is written (or the queue failed). */
  drained(): Promise<void> {
    if (!this.running && this.ops.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes the index file once the queue is empty; the queue takes nothing after. */
  async finish(): Promise<void> {
    await this.drained();
    const idx = this.index;
    this.index = undefined;
    await idx?.close().catch(() => undefined);
    await this.segment?.close().catch(() => undefined);
    this.segment = undefined;
    this.error ??= new Error('recording finished');
  }

  private held(bytes: number): void {
    this.queuedBytes += bytes;
    this.pool.bytes += bytes;
  }

  private push(op: Op): void {
    if (this.error) {
      if (op.t === 'data') this.held(-op.chunk.length);
      return;
    }
    this.ops.push(op);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.ops.length > 0 && !this.error) await this.step();
    } catch (err) {
      this.error = err as Error;
      for (const op of this.ops) if (op.t === 'data') this.held(-op.chunk.length);
      this.ops = [];
      await this.segment?.close().catch(() => undefined);
      this.segment = undefined;
    } finally {
      this.running = false;
      for (const w of this.waiters.splice(0)) w();
    }
  }

  private async step(): Promise<void> {
    const op = this.ops[0]!;
    if (op.t === 'data') {
      // Every tag queued behind this one goes in the same system call.
      let n = 0;
      while (n < this.ops.length && n < MAX_IOV && this.ops[n]!.t === 'data') n++;
      const chunks = this.ops.slice(0, n).map((o) => (o as { chunk: Uint8Array }).chunk);
      const bytes = chunks.reduce((a, c) => a + c.length, 0);
      if (!this.segment) throw new Error('recording: data with no open segment');
      try {
        await writeAll(this.segment, chunks, bytes);
      } finally {
        this.ops.splice(0, n);
        this.held(-bytes);
      }
      this.bytesWritten += bytes;
      return;
    }
    this.ops.shift();
    if (op.t === 'open') {
      await this.segment?.close();
      this.segment = await this.openFn(op.path, 'wx');
    } else if (op.t === 'close') {
      const f = this.segment;
      this.segment = undefined;
      if (f) {
        await f.sync();
        await f.close();
      }
    } else {
      this.index ??= await this.openFn(this.indexPath, 'a');
      const line = Buffer.from(op.line);
      await writeAll(this.index, [line], line.length);
      await this.index.sync();
    }
  }
}

/** writev may take less than it was given (a signal, a full quota); the rest goes again. */
async function writeAll(file: WritableFile, chunks: Uint8Array[], bytes: number): Promise<void> {
  let done = (await file.writev(chunks)).bytesWritten;
  while (done < bytes) {
    const rest = Buffer.concat(chunks).subarray(done);
    const n = (await file.writev([rest])).bytesWritten;
    if (n <= 0) throw new Error('recording: the disk took no bytes');
    done += n;
  }
}
