import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../server/log.js';
import type { Registry } from '../server/Registry.js';
import type { Stream } from '../server/Stream.js';
import type { OpenFile } from './DiskQueue.js';
import { claimDir, recordingDir } from './pathTemplate.js';
import { Recording } from './Recording.js';
import { storedRecordings, type StoredRecording } from './stored.js';

/** An app's `record` setting, as the config schema gives it. */
export interface RecordSettings {
  enabled: boolean;
  /** Directory template: {app} {key} {date} (UTC YYYY-MM-DD) {time} (UTC HHMMSS) {node} (cluster node id). */
  path: string;
  segmentSeconds: number;
  queueBytes: number;
  /** Nodes that record each stream: 2 makes a node that relays it record too (src/cluster). */
  replicas: number;
}

/**
 * Publishers whose streams are made from other streams (processing jobs: ladder renditions,
 * transcodes, mixes; the ?quality=auto switcher): not originals, they can be made again from
 * the recorded ones.
 */
const DERIVED = new Set(['job', 'auto-quality']);

/** Finished recordings kept for GET /api/recordings (the index files keep everything). */
const MAX_FINISHED = 200;

export interface RecorderOptions {
  /** The record settings of an app, or undefined when it does not record. */
  settings(app: string): RecordSettings | undefined;
  /** The path templates of every app that records (where GET /api/recordings looks on disk). */
  templates?: () => string[];
  logger?: Logger;
  openFile?: OpenFile;
  /** The cluster node id, for {node} in path templates ('local' when not in a cluster). */
  nodeId?: string;
  /** Bytes all recordings together may hold waiting for disks (each also has its queueBytes). Default 256 MiB. */
  totalQueueBytes?: number;
}

/**
 * Records every stream of the apps whose config says so, from the moment the stream is made
 * (its publisher arrived) to its close (the grace ran out, or shutdown). One Recording per
 * Stream, so a publisher that reconnects within the grace goes on in the same recording.
 * A stream whose publisher is a cluster relay (a copy of a stream owned elsewhere) is recorded
 * only when the app asks for two replicas or more.
 */
export class Recorder {
  readonly active = new Map<Stream, Recording>();
  readonly finished: Recording[] = [];
  /** Frames every recording dropped because its disk fell behind, finished ones included. */
  private droppedRetired = 0;
  errors = 0;
  /**
   * Whether this node records a stream a cluster relay feeds (set by src/cluster: only the
   * chosen replicas do, not every edge that relays it for viewers). Without a cluster there
   * are no relays.
   */
  recordsRelay: (stream: Stream) => boolean = () => false;
  /** What all recordings hold for their disks: many streams on one slow disk stay bounded too. */
  readonly pool: { bytes: number; limit: number };

  constructor(
    registry: Registry,
    private readonly options: RecorderOptions,
  ) {
    this.pool = { bytes: 0, limit: options.totalQueueBytes ?? 256 << 20 };
    registry.on('stream', (stream) => {
      stream.on('publish', (p) => DERIVED.has(p.protocol) || this.maybeRecord(stream, p.protocol === 'relay'));
      // Main/backup: a publisher standing by here is an original too (see maybeRecord).
      stream.on('standby', (p) => DERIVED.has(p.protocol) || p.protocol === 'relay' || this.maybeRecord(stream, false));
    });
  }

  get droppedTotal(): number {
    let n = this.droppedRetired;
    for (const r of this.active.values()) n += r.dropped;
    return n;
  }

  /** Resolves when every recording has written its last segment and index line. */
  async close(): Promise<void> {
    const open = [...this.active.values()];
    for (const r of open) r.close('server shutting down', true);
    await Promise.all(open.map((r) => r.finished));
  }

  /**
   * In an app with main/backup, a node's own publisher is recorded from its own feed, standing
   * by or on air (Recording's localFeed): the backup's node then holds a whole original through
   * the main's death and the switch, where a recording of what the stream plays loses the
   * frames of the switch. It replaces a replica of the relayed stream begun here before it.
   */
  private maybeRecord(stream: Stream, relayed: boolean): void {
    const s = this.options.settings(stream.app);
    if (!s?.enabled || (relayed && (s.replicas < 2 || !this.recordsRelay(stream)))) return;
    const localFeed = !relayed && stream.options.backup === true;
    const current = this.active.get(stream);
    if (current && !(localFeed && current.relayReplica)) return;
    current?.close('replaced by the recording of this node\'s own publisher', true);
    let dir: string;
    try {
      // Synchronous, once per stream start: the Recording needs its directory before the first frame.
      const want = recordingDir(s.path, stream.app, stream.key, new Date(), this.options.nodeId);
      mkdirSync(dirname(want), { recursive: true });
      dir = claimDir(want, mkdirIfFree);
    } catch (err) {
      this.errors++;
      this.options.logger?.error({ err, stream: stream.path }, 'recording not started');
      return;
    }
    const rec = new Recording(stream, dir, { segmentMs: s.segmentSeconds * 1000, queueBytes: s.queueBytes, pool: this.pool, openFile: this.options.openFile, localFeed });
    rec.relayReplica = relayed;
    this.active.set(stream, rec);
    if (!localFeed) stream.subscribe(rec);
    else if (!stream.subscribeBackup(rec)) return void rec.close('no local publisher', true);
    this.options.logger?.info({ stream: stream.path, dir }, 'recording');
    stream.once('close', () => rec.close('stream closed', true));
    void rec.finished.then(() => {
      if (this.active.get(stream) === rec) this.active.delete(stream);
      this.droppedRetired += rec.dropped;
      if (rec.queue.error && rec.queue.error.message !== 'recording finished') {
        this.errors++;
        this.options.logger?.error({ err: rec.queue.error, stream: stream.path, dir }, 'recording failed');
      }
      this.finished.push(rec);
      if (this.finished.length > MAX_FINISHED) this.finished.shift();
    });
  }

  /** Every recording this process made, newest last. */
  list(): RecordingInfo[] {
    return [...this.finished, ...this.active.values()].map(info);
  }

  /** What GET /api/recordings answers: this process's recordings, and the others found on disk. */
  async listAll(): Promise<{ recordings: RecordingInfo[]; stored: StoredRecording[] }> {
    const recordings = this.list();
    const stored = await storedRecordings(this.options.templates?.() ?? [], new Set(recordings.map((r) => r.dir)));
    return { recordings, stored };
  }
}

function mkdirIfFree(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

export interface RecordingInfo {
  app: string;
  key: string;
  dir: string;
  active: boolean;
  startedAt: string;
  segmentCount: number;
  durationMs: number;
  bytes: number;
  dropped: number;
  error?: string;
  gaps: Recording['gaps'];
  segments: Recording['segments'];
}

function info(r: Recording): RecordingInfo {
  const err = r.queue.error?.message;
  return {
    app: r.stream.app,
    key: r.stream.key,
    dir: r.dir,
    active: !r.isClosed,
    startedAt: new Date(r.startedAt).toISOString(),
    segmentCount: r.segmentCount,
    durationMs: Math.round(r.durationMs),
    bytes: r.bytes,
    dropped: r.dropped,
    ...(err && err !== 'recording finished' ? { error: err } : {}),
    gaps: r.gaps,
    segments: r.segments,
  };
}
