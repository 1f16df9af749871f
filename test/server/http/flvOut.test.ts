import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAmf0 } from '../../../src/media/amf0.js';
import type { MediaFrame } from '../../../src/media/frame.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from '../../../src/server/http/flvOut.js';
import { FlvReader } from './flvReader.js';

import { fixture } from './fixture.js';

test('tags written here read back through FlvDemuxer, times extended past 24 bits, one tag per frame shared', () => {
  const r = new FlvReader();
  r.push(flvFileHeader(true, true));
  r.push(flvMetadataTag({ width: 320, height: 240 }, undefined, undefined)!);
  const [avc, aac] = fixture().configs;
  for (const t of flvConfigTags(avc, aac, 0)) r.push(t);
  const base = 1_000_000;
  const v: MediaFrame = { kind: 'video', codec: 'h264', dts: base + 20_000_000, pts: base + 20_000_040, keyframe: true, reference: true, data: new Uint8Array([0, 0, 0, 1, 0x65]) };
  const a: MediaFrame = { kind: 'audio', codec: 'aac', dts: base + 5, pts: base + 5, keyframe: true, reference: true, data: new Uint8Array([9, 9]) };
  r.push(flvFrameTag(a)!);
  r.push(flvFrameTag(v)!);
  assert.equal(flvFrameTag(v), flvFrameTag(v), 'the same buffer for every viewer');
  assert.deepEqual(r.tags.map((t) => t.type), [18, 9, 8, 8, 9]);
  assert.equal(r.tags[4]!.ts, base + 20_000_000);
  const md = decodeAmf0(new Uint8Array(flvMetadataTag(undefined, avc, aac)!.subarray(11, -4)));
  assert.equal(md[0], 'onMetaData');
  assert.equal((md[1] as Record<string, unknown>)['width'], 320);
  const frames = r.outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  assert.deepEqual(frames.map((f) => [f.kind, f.dts, f.pts - f.dts, f.keyframe]), [['audio', base + 5, 0, true], ['video', base + 20_000_000, 40, true]]);
  assert.deepEqual(r.outputs.filter((o) => o.type === 'config').length, 2);
});
