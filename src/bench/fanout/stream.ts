/**
 * The fanout bench's stream: the transport bench's synthetic source (30 fps, keyframe every 2 s,
 * 50 audio packets/s) dressed as H.264 + AAC so any server accepts it, with each frame's id
 * written into its payload so a viewer can tell which frame arrived, whatever the server does
 * to timestamps.
 */
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { SyntheticSource, type SourceFrame } from '../transport/Source.js';

// A real 320x240 Baseline SPS/PPS: servers parse it for their stream info; no one decodes slices.
const SPS = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80];
const PPS = [0x68, 0xcb, 0x83, 0xcb, 0x20];

export const VIDEO_CONFIG: CodecConfig = {
  kind: 'video',
  codec: 'h264',
  data: new Uint8Array([1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, SPS.length, ...SPS, 1, 0, PPS.length, ...PPS]),
  width: 320,
  height: 240,
};
export const AUDIO_CONFIG: CodecConfig = { kind: 'audio', codec: 'aac', data: new Uint8Array([0x12, 0x10]), sampleRate: 44100, channels: 2 };

/** Where the frame id sits in a frame's data: after the AVCC length and NAL header for video. */
const VIDEO_ID_OFFSET = 5;
const AUDIO_ID_OFFSET = 0;

export function toMediaFrame(f: SourceFrame): MediaFrame {
  const data = new Uint8Array(Math.max(f.size, 16));
  const view = new DataView(data.buffer);
  if (f.kind === 'video') {
    view.setUint32(0, data.length - 4); // one NAL unit, AVCC length-prefixed
    data[4] = f.keyframe ? 0x65 : f.reference ? 0x41 : 0x01;
    view.setUint32(VIDEO_ID_OFFSET, f.id);
  } else {
    view.setUint32(AUDIO_ID_OFFSET, f.id);
  }
  return { kind: f.kind, codec: f.kind === 'video' ? 'h264' : 'aac', dts: f.capture, pts: f.capture, keyframe: f.keyframe, reference: f.reference, data };
}

/** The id written by `toMediaFrame`, or undefined when the frame is too short to hold one. */
export function frameId(frame: MediaFrame): number | undefined {
  const at = frame.kind === 'video' ? VIDEO_ID_OFFSET : AUDIO_ID_OFFSET;
  if (frame.data.length < at + 4) return undefined;
  return new DataView(frame.data.buffer, frame.data.byteOffset).getUint32(at);
}

export function makeSource(bitrateBps: number, seed: number): SyntheticSource {
  return new SyntheticSource({ bitrateBps, seed });
}
