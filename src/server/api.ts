import type { CodecConfig } from '../media/frame.js';
import type { Registry } from './Registry.js';
import type { Stream } from './Stream.js';

/** One stream as `GET /api/streams[/<app>/<key>]` shows it. */
export interface StreamInfo {
  app: string;
  key: string;
  live: boolean;
  publisher: { id: string; protocol: string; address: string; paths?: PathInfo[] } | null;
  /** Main/backup publishing: the hot-standby publisher (only when there is one). */
  standby?: { id: string; protocol: string; address: string; ready: boolean; framesIn: number; lastFrameAgoMs: number };
  /** Times the stream switched between main and backup (only when it did, or has a standby). */
  switches?: number;
  uptimeMs: number | null;
  video: { codec: string; codecString?: string; width?: number; height?: number; profile?: string; level?: number } | null;
  audio: { codec: string; codecString?: string; sampleRate?: number; channels?: number } | null;
  bitrateKbps: number;
  fps: number;
  viewers: Record<string, number>;
  viewersTotal: number;
  /** Age of the newest frame (now - its capture time) when it reached the server, ms. */
  ingestDelayMs: number | null;
  framesIn: number;
  bytesIn: number;
  framesDropped: number;
}

/** One path of a transport publisher's session, as the server receives it. */
export interface PathInfo {
  address: string;
  state: string;
  receiveKbps: number;
  bytesReceived: number;
}

function paths(s: Stream): PathInfo[] | undefined {
  const p = s.publisher?.paths?.();
  return p?.map((x) => ({ address: x.path, state: x.state, receiveKbps: Math.round(x.receiveRateBps / 1000), bytesReceived: x.bytesReceived }));
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function video(c: CodecConfig | undefined, md: Record<string, unknown> | undefined): StreamInfo['video'] {
  if (!c) return null;
  const out: NonNullable<StreamInfo['video']> = { codec: c.codec };
  if (c.codecString) out.codecString = c.codecString;
  // The SPS is the truth; onMetaData (what the encoder claims) only fills gaps.
  const width = c.width ?? num(md?.['width']);
  const height = c.height ?? num(md?.['height']);
  if (width !== undefined) out.width = width;
  if (height !== undefined) out.height = height;
  if (c.profile) out.profile = c.profile;
  if (c.level !== undefined) out.level = c.level;
  return out;
}

function audio(c: CodecConfig | undefined): StreamInfo['audio'] {
  if (!c) return null;
  const out: NonNullable<StreamInfo['audio']> = { codec: c.codec };
  if (c.codecString) out.codecString = c.codecString;
  if (c.sampleRate !== undefined) out.sampleRate = c.sampleRate;
  if (c.channels !== undefined) out.channels = c.channels;
  return out;
}

export function streamInfo(s: Stream, now = Date.now()): StreamInfo {
  const viewers = s.viewerCounts();
  const { kbps, fps } = s.rates();
  return {
    app: s.app,
    key: s.key,
    live: s.isLive,
    publisher: s.publisher ? { id: s.publisher.id, protocol: s.publisher.protocol, address: s.publisher.remoteAddress, ...(paths(s) ? { paths: paths(s) } : {}) } : null,
    uptimeMs: s.publishedAt !== undefined ? now - s.publishedAt : null,
    video: video(s.videoConfig, s.metadata),
    audio: audio(s.audioConfig),
    bitrateKbps: Math.round(kbps),
    fps: Math.round(fps * 10) / 10,
    viewers,
    viewersTotal: Object.values(viewers).reduce((a, b) => a + b, 0),
    ingestDelayMs: s.ingestDelayMs ?? null,
    framesIn: s.framesIn,
    bytesIn: s.bytesIn,
    framesDropped: s.framesDropped,
    ...(s.standby ? { standby: { id: s.standby.id, protocol: s.standby.protocol, address: s.standby.remoteAddress, ready: s.standbyStats()!.ready, framesIn: s.standbyStats()!.framesIn, lastFrameAgoMs: s.standbyStats()!.lastFrameAgoMs } } : {}),
    ...(s.standby || s.switches > 0 ? { switches: s.switches } : {}),
  };
}

/**
 * Every stream with a publisher or a viewer, sorted by path; `listed` says which apps may
 * appear (unlisted apps' streams are left out, though they still play by their key).
 */
export function listStreams(registry: Registry, now = Date.now(), listed: (app: string) => boolean = () => true): StreamInfo[] {
  return [...registry.streams()]
    .filter((s) => listed(s.app))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((s) => streamInfo(s, now));
}
