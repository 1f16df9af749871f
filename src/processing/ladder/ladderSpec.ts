import type { RenditionSpec, TranscodeSpec } from '../JobSpec.js';

/**
 * Renditions of APP/KEY are published as APP/KEY_NAME (live/cam_240p): ordinary streams, so
 * every output serves them, and a player may also pick one by name.
 */
export function renditionKey(key: string, name: string): string {
  return `${key}_${name}`;
}

/** The transcode job of a stream's ladder: one ffmpeg, every rung, keyframes aligned on 1 s. */
export function ladderSpec(source: string, rungs: readonly RenditionSpec[]): TranscodeSpec {
  const [app, key] = source.split('/') as [string, string];
  return {
    input: { stream: source },
    outputs: rungs.map((r) => ({ stream: `${app}/${renditionKey(key, r.name)}`, height: r.height, kbps: r.kbps })),
    fps: 30,
    gopSeconds: 1,
    preset: 'veryfast',
    audioKbps: 96,
  };
}
