import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/server/metrics.js';
import { Registry } from '../../src/server/Registry.js';
import type { Subscriber } from '../../src/server/Subscriber.js';

test('frames skipped for slow viewers are counted by protocol as well as in the slow_viewer total', async () => {
  const m = new Metrics(new Registry());
  // Only what the counters read of a viewer.
  const viewer = (protocol: string, skippedFrames: number) => ({ protocol, skippedFrames, bytesSent: 0 }) as unknown as Subscriber;
  m.retireSubscriber(viewer('tributary', 7));
  m.retireSubscriber(viewer('http-flv', 3));
  m.retireSubscriber(viewer('tributary', 2));
  const text = await m.text();
  assert.match(text, /^tributary_viewer_skipped_frames_total\{protocol="tributary"\} 9$/m);
  assert.match(text, /^tributary_viewer_skipped_frames_total\{protocol="http-flv"\} 3$/m);
  assert.match(text, /^tributary_dropped_frames_total\{reason="slow_viewer"\} 12$/m);
});
