/**
 * The fanout bench's publisher: the synthetic H.264 + AAC source pushed over RTMP on the media
 * clock, every frame's send time kept by its id (what a viewer's delay is measured from). Shared
 * by `bench fanout` and `bench cluster --scenario fanout`, so both push the same stream the same way.
 */
import { RtmpPushClient } from '../../server/rtmp/RtmpPushClient.js';
import { AUDIO_CONFIG, makeSource, toMediaFrame, VIDEO_CONFIG } from './stream.js';

const TICK_MS = 5;

export interface FanoutPublisher {
  /** performance.now() at which each frame id was handed to the RTMP socket. */
  readonly sentAt: Map<number, number>;
  close(): void;
}

export async function publishFanout(rtmpUrl: string, bitrateBps: number, seed: number): Promise<FanoutPublisher> {
  const pusher = await RtmpPushClient.publish(rtmpUrl);
  pusher.sendMetadata({ width: 320, height: 240, videocodecid: 7, audiocodecid: 10, framerate: 30 });
  pusher.sendConfig(VIDEO_CONFIG);
  pusher.sendConfig(AUDIO_CONFIG);
  const source = makeSource(bitrateBps, seed);
  const sentAt = new Map<number, number>();
  const t0 = performance.now();
  // Frames go out on the media clock; a timer tick late only delays them, as an encoder would.
  const timer = setInterval(() => {
    const now = performance.now();
    for (const f of source.take(now - t0)) {
      sentAt.set(f.id, now);
      pusher.sendFrame(toMediaFrame(f));
    }
  }, TICK_MS);
  return {
    sentAt,
    close() {
      clearInterval(timer);
      pusher.close();
    },
  };
}
