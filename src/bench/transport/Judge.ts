import type { SourceFrame } from './Source.js';

export interface KindResult {
  sent: number;
  onTime: number;
  onTimeRatio: number;
}

export interface Judgement {
  audio: KindResult;
  video: KindResult & { keyframeOnTimeRatio: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  mediaBytes: number;
  /** Bytes of the frames a viewer could use: audio on time, video on time and decodable. */
  onTimeBytes: number;
  /** Video frame id -> shown on time (it and its references were). */
  decodable: Map<number, boolean>;
}

/**
 * Judges a run as a viewer would see it. `complete` maps frame id to the time the whole
 * frame was received (absent = never, or dropped by the sender). A frame is on time when
 * complete within `latencyMs` of capture; a video frame counts only if it and every frame
 * it is predicted from, back to its keyframe, were on time (a decoder shows nothing else).
 */
export function judge(frames: SourceFrame[], complete: Map<number, number>, latencyMs: number): Judgement {
  const decodable = new Map<number, boolean>();
  const audio = { sent: 0, onTime: 0, onTimeRatio: 0 };
  const video = { sent: 0, onTime: 0, onTimeRatio: 0, keyframeOnTimeRatio: 0 };
  let keys = 0, keysOnTime = 0, mediaBytes = 0, onTimeBytes = 0;
  const lat: number[] = [];
  for (const f of frames) {
    mediaBytes += f.size;
    const t = complete.get(f.id);
    if (t !== undefined) lat.push(t - f.capture);
    const onTime = t !== undefined && t - f.capture <= latencyMs;
    if (f.kind === 'audio') {
      audio.sent++;
      if (onTime) {
        audio.onTime++;
        onTimeBytes += f.size;
      }
      continue;
    }
    video.sent++;
    const ok = onTime && (f.refId < 0 || decodable.get(f.refId) === true);
    decodable.set(f.id, ok);
    if (ok) {
      video.onTime++;
      onTimeBytes += f.size;
    }
    if (f.keyframe) {
      keys++;
      if (ok) keysOnTime++;
    }
  }
  audio.onTimeRatio = audio.sent ? audio.onTime / audio.sent : 0;
  video.onTimeRatio = video.sent ? video.onTime / video.sent : 0;
  video.keyframeOnTimeRatio = keys ? keysOnTime / keys : 0;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!) : 0);
  return { audio, video, latencyMs: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: lat.length ? round(lat[lat.length - 1]!) : 0 }, mediaBytes, onTimeBytes, decodable };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
