/**
 * SendQueue's give-up rules: a frame no path can deliver in time is not sent, and a given-up
 * reference frame takes the frames that depend on it (up to the next keyframe) with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendQueue, type OutMessage, type OutStream } from '../../src/transport/SendQueue.js';
import type { MessageMeta } from '../../src/transport/api.js';

function stream(id: number, cls: 'audio' | 'video'): OutStream {
  return { id, options: { class: cls, reliability: 'deadline', priority: cls === 'audio' ? 1 : 2 }, nextMessageId: 0, waitingKeyframe: false, openAcked: true };
}

function msg(s: OutStream, meta: MessageMeta, bytes = 3000, fragSize = 1000): OutMessage {
  const frags: Uint8Array[] = [];
  for (let i = 0; i < bytes; i += fragSize) frags.push(new Uint8Array(Math.min(fragSize, bytes - i)));
  return { stream: s, id: s.nextMessageId++, meta, frags, next: 0, acked: new Uint8Array(frags.length), ackedCount: 0, done: false, bytes };
}

/** Everything the queue lets out, in order, as message ids (one entry per message). */
function drain(q: SendQueue, now: number, drops: Array<[number, string]>): number[] {
  const out: number[] = [];
  for (let f = q.next(now, (m, r) => drops.push([m.id, r])); f; f = q.next(now, (m, r) => drops.push([m.id, r]))) {
    if (f.index === 0) out.push(f.msg.id);
  }
  return out;
}

test('a reference frame the gate turns away is not sent, nor are the frames after it up to the next keyframe; that keyframe is', () => {
  const q = new SendQueue();
  const v = stream(2, 'video'), a = stream(1, 'audio');
  const dl = 1000;
  const frames = [msg(v, { deadline: dl, keyframe: true }), msg(v, { deadline: dl }), msg(v, { deadline: dl }), msg(v, { deadline: dl }), msg(v, { deadline: dl + 500, keyframe: true }), msg(v, { deadline: dl + 500 })];
  for (const m of frames) q.push(m);
  q.push(msg(a, { deadline: dl }, 160, 160));
  // Frame 1 cannot arrive in time (say, a link just went down): the gate says so once.
  const asked: number[] = [];
  q.gate = (_now, m) => {
    asked.push(m.id);
    return !(m.stream === v && m.id === 1);
  };
  const drops: Array<[number, string]> = [];
  const sent = drain(q, 0, drops);
  assert.deepEqual(drops, [[1, 'deadline'], [2, 'queue'], [3, 'queue']]);
  assert.equal(q.skipped, 1);
  assert.equal(q.dependentsDropped, 2);
  // audio (priority 1) first, then keyframe 0, then the next keyframe and the frame after it
  assert.deepEqual(sent, [0, 0, 4, 5]);
  // a keyframe was queued behind, so the stream does not wait for another
  assert.equal(v.waitingKeyframe, false);
  assert.equal(q.bytes, 0);
  assert.ok(!asked.includes(2) && !asked.includes(3), 'dependents are dropped, not asked about');
});

test('with no keyframe queued behind a given-up reference frame, the stream waits for the next one', () => {
  const q = new SendQueue();
  const v = stream(2, 'video');
  const key = msg(v, { deadline: 500, keyframe: true }), p1 = msg(v, { deadline: 500 }), p2 = msg(v, { deadline: 600 });
  for (const m of [key, p1, p2]) q.push(m);
  const drops: Array<[number, string]> = [];
  // The keyframe's deadline passes in the queue: it and everything predicted from it go.
  const wanted: number[] = [];
  q.onKeyframeWanted = (s) => wanted.push(s.id);
  const sent = drain(q, 550, drops);
  assert.deepEqual(sent, []);
  assert.deepEqual(drops, [[0, 'deadline'], [1, 'queue'], [2, 'queue']]);
  assert.equal(v.waitingKeyframe, true);
  // The application hears once that a keyframe would end the gap (it may ask its encoder).
  assert.deepEqual(wanted, [2]);
});

test('a non-reference frame given up takes nothing with it', () => {
  const q = new SendQueue();
  const v = stream(2, 'video');
  const ms = [msg(v, { deadline: 1000, keyframe: true }), msg(v, { deadline: 1000, reference: false }), msg(v, { deadline: 1000 })];
  for (const m of ms) q.push(m);
  q.gate = (_now, m) => m.id !== 1;
  const drops: Array<[number, string]> = [];
  assert.deepEqual(drain(q, 0, drops), [0, 2]);
  assert.deepEqual(drops, [[1, 'deadline']]);
  assert.equal(v.waitingKeyframe, false);
});

test('shedding video up to a queued keyframe does not make the stream refuse the frames after that keyframe', () => {
  const q = new SendQueue();
  const v = stream(2, 'video');
  // 40 kB of P frames then a keyframe, all due in 300 ms, draining at 200 kbit/s: far too late.
  for (let i = 0; i < 10; i++) q.push(msg(v, { deadline: 300, }, 4000));
  q.push(msg(v, { deadline: 2000, keyframe: true }, 4000));
  const drops: Array<[number, string]> = [];
  q.shed(0, 200_000, 50, (m, r) => drops.push([m.id, r]));
  assert.equal(drops.length, 10, 'the P frames before the keyframe go');
  // The keyframe is queued: later P frames depend on it and must be accepted (Session.send
  // refuses every non-keyframe while waitingKeyframe is set; set here, it cost a whole GOP).
  assert.equal(v.waitingKeyframe, false);
  assert.deepEqual(drain(q, 0, drops), [10]);
});

test('a frame of the GOP before a keyframe already sent is given up alone: the frames after that keyframe stay', () => {
  const q = new SendQueue();
  const v = stream(2, 'video');
  // P frame 0 (of the previous GOP) was sent; then keyframe 1 and P frames 2, 3 were queued
  // and the keyframe and frame 2 sent. Frame 0's resend is then given up (its link died).
  const ms = [msg(v, { deadline: 500 }), msg(v, { deadline: 1500, keyframe: true }), msg(v, { deadline: 1500 }), msg(v, { deadline: 1600 })];
  for (const m of ms) q.push(m);
  const drops: Array<[number, string]> = [];
  for (let i = 0; i < 9; i++) q.next(0, (m, r) => drops.push([m.id, r]));
  assert.equal(ms[2]!.next, 3, 'frames 0, 1 and 2 left');
  q.giveUp(ms[0]!, (m, r) => drops.push([m.id, r]), 'deadline');
  assert.deepEqual(drops, [[0, 'deadline']]);
  // Frame 3 depends on keyframe 1, not on frame 0 (with the keyframe gone from the queue, the
  // old rule dropped it and made the stream wait two seconds for another keyframe).
  assert.equal(v.waitingKeyframe, false);
  assert.deepEqual(drain(q, 0, drops), [3]);
});
