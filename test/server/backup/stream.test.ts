/** Main/backup rules of the Stream in virtual time (no sockets: `now` is passed in). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import type { Publisher } from '../../../src/server/Publisher.js';
import { PublishRefusedError, Stream } from '../../../src/server/Stream.js';
import { Subscriber } from '../../../src/server/Subscriber.js';
import { parseRelayIdentity, relayIdentity } from '../../../src/cluster/relayAuth.js';

class Recorder extends Subscriber {
  frames: MediaFrame[] = [];
  configs: (CodecConfig | undefined)[][] = [];
  constructor(id = 'v') {
    super(id, 'test', 'x');
  }
  onConfig(v: CodecConfig | undefined, a: CodecConfig | undefined): void {
    this.configs.push([v, a]);
  }
  protected writeFrame(f: MediaFrame): void {
    this.frames.push(f);
  }
  pendingBytes(): number {
    return 0;
  }
  protected onClose(): void {}
}

const video = (b = 1): CodecConfig => ({ kind: 'video', codec: 'h264', data: new Uint8Array([1, 0x42, b]) });
const pub = (id: string, protocol = 'rtmp', heard?: () => number): Publisher & { closed?: string } => {
  const p: Publisher & { closed?: string } = { id, protocol, remoteAddress: 'x', close: (r) => void (p.closed = r), ...(heard ? { heardAgoMs: heard } : {}) };
  return p;
};
const vf = (dts: number, keyframe: boolean, mark: number): MediaFrame => ({ kind: 'video', codec: 'h264', dts, pts: dts, keyframe, reference: true, data: new Uint8Array([mark]) });

/** Frames at 40 ms from `from` to `to` (server time), the publisher's own dts = t + base, a keyframe every 1000 ms. */
function feed(s: Stream, p: Publisher, from: number, to: number, base: number, mark: number): void {
  for (let t = from; t < to; t += 40) s.pushFrame(vf(t + base, (t + base) % 1000 === 0, mark), t, p);
}

test('a silent main: the backup takes over at its newest keyframe with rebased timestamps; no new sequence header for the same config; checks after a stall wait one round', () => {
  const s = new Stream('live', 'k', { backup: true });
  const a = pub('a');
  const b = pub('b');
  s.publish(a, { standby: true }, 0);
  s.pushConfig(video(), a);
  assert.equal(s.publish(b, { standby: true }, 0), 'standby');
  s.pushConfig(video(), b);
  const r = new Recorder();
  s.subscribe(r);
  feed(s, a, 0, 2000, 0, 0xa);
  feed(s, b, 0, 2400, 50_000 + 520, 0xb); // its keyframes fall at other times, its clock far away
  assert.ok(r.frames.every((f) => f.data[0] === 0xa));
  s.checkSilence(2300); // the first check, or one after a stall: waits
  s.checkSilence(2325);
  s.checkSilence(2350);
  assert.equal(s.publisher, b, 'the backup is on air');
  assert.equal(s.standby, a, 'the silent main stands by');
  const after = r.frames.filter((f) => f.data[0] === 0xb);
  assert.ok(after[0]!.keyframe, 'the switch starts on a keyframe');
  assert.ok(after.length > 1, 'the backup GOP since its newest keyframe is replayed');
  for (let i = 1; i < r.frames.length; i++) assert.ok(r.frames[i]!.dts > r.frames[i - 1]!.dts, 'timestamps keep growing');
  assert.equal(r.configs.length, 1, 'same config: no new sequence header');
  // The main speaks again: it stays the standby.
  feed(s, a, 2400, 3000, 0, 0xa);
  feed(s, b, 2400, 3000, 50_000 + 520, 0xb);
  s.checkSilence(3000);
  assert.equal(s.publisher, b);
  assert.ok(r.frames.slice(-5).every((f) => f.data[0] === 0xb));
});

test('a backup with another codec config: its sequence header goes out before its keyframe', () => {
  const s = new Stream('live', 'k', { backup: true });
  const a = pub('a');
  const b = pub('b');
  s.publish(a, {}, 0);
  s.pushConfig(video(1), a);
  s.publish(b, { standby: true }, 0);
  s.pushConfig(video(2), b);
  feed(s, b, 0, 1100, 0, 0xb);
  const r = new Recorder();
  s.subscribe(r);
  s.unpublish(a, 1100);
  assert.equal(s.publisher, b);
  assert.equal(r.configs.length, 2);
  assert.deepEqual([...r.configs[1]![0]!.data], [1, 0x42, 2]);
});

test('a third publisher is refused unless the standby is silent; without backups a second one is refused', () => {
  const s = new Stream('live', 'k', { backup: true });
  const a = pub('a');
  const b = pub('b');
  s.publish(a, { standby: true }, 0);
  s.publish(b, { standby: true }, 0);
  assert.throws(() => s.publish(pub('c'), { standby: true }, 100), /already has a main and a backup/);
  const c = pub('c');
  assert.equal(s.publish(c, { standby: true }, 1000), 'standby', 'b sent nothing for 1 s: replaced');
  assert.match(b.closed ?? '', /replaced/);
  const plain = new Stream('live', 'k');
  plain.publish(pub('a'));
  assert.throws(() => plain.publish(pub('b'), { standby: true }), PublishRefusedError);
});

test('a relay whose whole session went quiet (a stalled node) gets three times the silence; takeOver switches at the first keyframe', () => {
  let heard = 0;
  const s = new Stream('live', 'k', { backup: true });
  const relay = pub('r', 'relay', () => heard);
  const local = pub('l');
  s.publish(relay, {}, 0);
  s.pushConfig(video(), relay);
  s.publish(local, { standby: true }, 0);
  s.pushConfig(video(), local);
  feed(s, relay, 0, 1000, 0, 1);
  feed(s, local, 0, 1500, 0, 2);
  heard = 700; // nothing at all from the relay's node
  for (let t = 1300; t <= 1500; t += 25) s.checkSilence(t);
  assert.equal(s.publisher, relay, 'not yet: the node may be stalled');
  feed(s, local, 1500, 2000, 0, 2);
  for (let t = 1500; t <= 2000; t += 25) s.checkSilence(t);
  assert.equal(s.publisher, local);
  // takeOver: a relay put in front of the local publisher wins at its first keyframe.
  const owner = pub('o', 'relay');
  s.unpublish(relay, 2000);
  s.publish(owner, { standby: true, takeOver: true }, 2000);
  s.pushConfig(video(), owner);
  s.pushFrame(vf(99_040, false, 3), 2010, owner);
  assert.equal(s.publisher, local);
  s.pushFrame(vf(100_000, true, 3), 2020, owner);
  assert.equal(s.publisher, owner);
  assert.equal(s.standby, local);
});

test('the backup view: raw frames of the local backup publisher, whatever its role; relay identities name it', () => {
  const s = new Stream('live', 'k', { backup: true });
  const relay = pub('r', 'relay');
  const local = pub('l');
  s.publish(relay, {}, 0);
  s.pushConfig(video(), relay);
  s.publish(local, { standby: true }, 0);
  s.pushConfig(video(7), local);
  const edge = new Recorder('edge');
  assert.equal(s.subscribeBackup(edge), true);
  assert.deepEqual([...edge.configs[0]![0]!.data], [1, 0x42, 7], 'the backup publisher\'s own config');
  feed(s, relay, 0, 1000, 0, 1);
  feed(s, local, 0, 1000, 7000, 2);
  assert.ok(edge.frames.length > 0 && edge.frames.every((f) => f.data[0] === 2), 'only the local publisher');
  assert.equal(edge.frames[0]!.dts, 7000, 'its own timestamps, from its keyframe');
  assert.equal(new Stream('live', 'x').subscribeBackup(new Recorder()), false, 'no backups in the app: nothing to serve');
  assert.deepEqual(parseRelayIdentity(relayIdentity('live', 'k', 'edge1', true)), { app: 'live', key: 'k', node: 'edge1', backup: true });
  assert.equal(parseRelayIdentity('relay live/k edge1 backupx'), undefined);
});
