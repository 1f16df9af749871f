import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Listener, type AcceptDecision } from '../../src/srt/Listener.js';
import { HsType, SRT_MAGIC, Ext, parseSrtHs, Reject } from '../../src/srt/handshake.js';
import { buildControl, ControlType, parsePacket, HEADER_SIZE } from '../../src/srt/packet.js';
import { buildAckCif, buildNakCif, parseAckCif } from '../../src/srt/control.js';
import { PayloadCipher } from '../../src/srt/crypto/PayloadCipher.js';
import { writeDataHeader, Boundary } from '../../src/srt/packet.js';
import { mutate, xorshift } from '../fuzz.js';
import { CALLER_SOCKET, ISN, conclusion, dataPacket, induction, readHandshake } from './caller.js';

const PEER = { address: '127.0.0.9', port: 5000 };

function listener(accept: (sid: string) => AcceptDecision = () => ({ accept: true, role: 'receive' }), extra: Partial<ConstructorParameters<typeof Listener>[0]> = {}): Listener {
  return new Listener({ latencyMs: 120, accept: (r) => accept(r.streamId), cookieSecret: new Uint8Array(32).fill(7), random: xorshift(3), ...extra });
}

function connect(l: Listener, o: Parameters<typeof conclusion>[1] = { streamId: '#!::r=live/a,m=publish' }, now = 0) {
  l.handle(induction(), PEER, now);
  const cookie = readHandshake(l.drainOutgoing()[0]!.data).cookie;
  const c = conclusion(cookie, o);
  l.handle(c.datagram, PEER, now + 1);
  const out = l.drainOutgoing();
  return { reply: readHandshake(out[0]!.data), raw: out[0]!.data, key: c.key, salt: c.salt, conclusionDatagram: c.datagram };
}

test('induction is answered with v5, the SRT magic and a cookie, keeping no state', () => {
  const l = listener();
  l.handle(induction(), PEER, 0);
  const out = l.drainOutgoing();
  assert.equal(out.length, 1);
  const p = parsePacket(out[0]!.data);
  assert.equal(p.dstSocket, CALLER_SOCKET);
  const hs = readHandshake(out[0]!.data);
  assert.equal(hs.version, 5);
  assert.equal(hs.extension, SRT_MAGIC);
  assert.notEqual(hs.cookie, 0);
  assert.equal(l.connections.size, 0);
});

test('a forged or stale cookie is dropped and counted, with no answer and no state', () => {
  const l = listener();
  l.handle(induction(), PEER, 0);
  const cookie = readHandshake(l.drainOutgoing()[0]!.data).cookie;
  l.handle(conclusion((cookie + 1) >>> 0, { streamId: 'live/a' }).datagram, PEER, 1);
  l.handle(conclusion(cookie, { streamId: 'live/a' }).datagram, { ...PEER, port: 5001 }, 1); // another port: another cookie
  l.handle(conclusion(cookie, { streamId: 'live/a' }).datagram, PEER, 3 * 60_000); // two minutes later
  assert.equal(l.drainOutgoing().length, 0);
  assert.equal(l.counters['bad cookie'], 3);
  assert.equal(l.connections.size, 0);
});

test('a valid conclusion gets HSRSP with the larger latency; a repeated conclusion gets the same answer', () => {
  const l = listener();
  const { reply, conclusionDatagram } = connect(l, { streamId: '#!::r=live/a,m=publish', latencyMs: 600 });
  assert.equal(reply.type, HsType.Conclusion);
  const hsrsp = parseSrtHs(reply.extensions.find((e) => e.type === Ext.HsRsp)!.data);
  assert.equal(hsrsp.recvDelayMs, 600);
  assert.equal(hsrsp.sendDelayMs, 600);
  assert.equal(l.connections.size, 1);
  const [accepted] = l.drainAccepted();
  assert.equal(accepted!.streamId, '#!::r=live/a,m=publish');
  assert.equal(accepted!.conn.o.recvLatencyMs, 600);
  l.handle(conclusionDatagram, PEER, 5);
  assert.equal(readHandshake(l.drainOutgoing()[0]!.data).socketId, reply.socketId);
  assert.equal(l.connections.size, 1);
});

test('wrong versions, huge stream ids and refused streams get the proper rejection codes', () => {
  const l = listener((sid) => (sid === 'live/known' ? { accept: true, role: 'receive' } : { reject: Reject.NotFound, reason: 'unknown' }));
  assert.equal(connect(l, { streamId: 'live/known', version: 4 }).reply.type, 1000 + Reject.Version);
  assert.equal(connect(l, { rawSid: new Uint8Array(600).fill(0x41) }).reply.type, 1000 + Reject.Rogue);
  assert.equal(connect(l, { streamId: 'live/other' }).reply.type, 2404);
  assert.equal(l.connections.size, 0);
  assert.equal(l.counters['rejected 8'], 1);
  assert.equal(l.counters['rejected 1404'], 1);
  // An induction claiming version 3 is not even answered.
  l.handle(induction(3), PEER, 0);
  assert.equal(l.drainOutgoing().length, 0);
  assert.equal(l.counters['bad version'], 1);
});

test('a handshake flood from one address is answered at 50 per second at most', () => {
  const l = listener();
  for (let i = 0; i < 1000; i++) l.handle(induction(), PEER, i);
  const answered = l.drainOutgoing().length;
  assert.ok(answered <= 50 + 50 + 1, `answered ${answered}`);
  assert.ok((l.counters['handshake rate'] ?? 0) >= 890);
  assert.equal(l.connections.size, 0);
});

test('passphrase: KMRSP echoes the key material, payloads decrypt; a wrong or missing passphrase is refused', () => {
  const l = listener(undefined, { passphrase: 'the right passphrase' });
  assert.equal(connect(l, { streamId: 'live/a', passphrase: 'a wrong passphrase' }).reply.type, 1000 + Reject.BadSecret);
  assert.equal(connect(l, { streamId: 'live/a' }).reply.type, 1000 + Reject.Unsecure);
  const { reply, key, salt } = connect(l, { streamId: 'live/a', passphrase: 'the right passphrase' });
  assert.ok(reply.extensions.some((e) => e.type === Ext.KmRsp));
  const [a] = l.drainAccepted();
  const c = new PayloadCipher(salt!, { even: key! });
  const plain = new Uint8Array(188).fill(0x47);
  const enc = c.apply(1, ISN, plain)!;
  const d = new Uint8Array(HEADER_SIZE + enc.length);
  writeDataHeader(d, { seq: ISN, boundary: Boundary.Solo, inOrder: false, key: 1, retransmitted: false, msgNo: 1, timestamp: 10_000, dstSocket: reply.socketId });
  d.set(enc, HEADER_SIZE);
  l.handle(d, PEER, 20);
  assert.deepEqual(a!.conn.drainMessages(), [plain]);
});

test('receiving: full ACK every 10 ms, ACKACK gives the RTT, a gap is NAKed', () => {
  const l = listener();
  const { reply } = connect(l, { streamId: 'live/a' }, 0);
  const [a] = l.drainAccepted();
  const dst = reply.socketId;
  l.handle(dataPacket(ISN, dst, 3000, new Uint8Array([1])), PEER, 2);
  l.handle(dataPacket(ISN + 2, dst, 3100, new Uint8Array([3])), PEER, 3);
  const nak = l.drainOutgoing().map((o) => parsePacket(o.data)).find((p) => p.control && p.type === ControlType.Nak);
  assert.ok(nak, 'NAK at once for the gap');
  l.poll(11);
  const ack = l.drainOutgoing().map((o) => parsePacket(o.data)).find((p) => p.control && p.type === ControlType.Ack);
  assert.ok(ack && ack.control);
  assert.equal(parseAckCif(ack.cif).lastAckSeq, ISN + 1);
  l.handle(buildControl(ControlType.AckAck, 0, ack.info, 0, dst), PEER, 51);
  assert.ok(Math.abs(a!.conn.rtt.rttUs - 40_000) < 1000, `rtt ${a!.conn.rtt.rttUs}`);
  l.handle(buildControl(ControlType.Shutdown, 0, 0, 0, dst, new Uint8Array(4)), PEER, 60);
  assert.equal(l.connections.size, 0);
  assert.deepEqual(l.drainClosed().map((c) => c.reason), ['peer shut down']);
});

test('sending: packets are resent once NAKed (with the R flag) and released when ACKed', () => {
  const l = listener(() => ({ accept: true, role: 'send' }));
  const { reply } = connect(l, { streamId: '#!::r=live/a,m=request' }, 0);
  const [a] = l.drainAccepted();
  for (let i = 0; i < 5; i++) l.send(a!.id, new Uint8Array(1316).fill(i), 10 + i);
  const sent = l.drainOutgoing().map((o) => parsePacket(o.data));
  assert.deepEqual(sent.map((p) => (p.control ? -1 : p.seq)), [ISN, ISN + 1, ISN + 2, ISN + 3, ISN + 4]);
  assert.ok(sent.every((p) => !p.control && p.dstSocket === CALLER_SOCKET));
  l.handle(buildControl(ControlType.Nak, 0, 0, 0, reply.socketId, buildNakCif([[ISN + 1, ISN + 2]])), PEER, 100);
  const resent = l.drainOutgoing().map((o) => parsePacket(o.data));
  assert.deepEqual(resent.map((p) => (!p.control && p.retransmitted ? p.seq : -1)), [ISN + 1, ISN + 2]);
  l.handle(buildControl(ControlType.Ack, 0, 1, 0, reply.socketId, buildAckCif({ lastAckSeq: ISN + 5, rttUs: 30_000, rttVarUs: 1000, availableBuffer: 8000, packetsPerSecond: 0, capacityPps: 0, bytesPerSecond: 0 })), PEER, 110);
  assert.equal(a!.conn.sender.inFlight, 0);
  assert.ok(l.drainOutgoing().some((o) => { const p = parsePacket(o.data); return p.control && p.type === ControlType.AckAck; }));
});

test('a silent peer is closed after the idle timeout', () => {
  const l = listener();
  connect(l, { streamId: 'live/a' }, 0);
  l.poll(4000);
  assert.equal(l.connections.size, 1);
  assert.equal(l.nextWake() <= 5001, true);
  l.poll(5001);
  assert.equal(l.connections.size, 0);
  assert.match(l.drainClosed()[0]!.reason, /silent/);
});

test('fuzzed and truncated datagrams never throw, and are counted', () => {
  const l = listener();
  const { reply } = connect(l, { streamId: 'live/a' }, 0);
  const seeds = [
    induction(),
    conclusion(1, { streamId: '#!::r=live/a,m=publish', passphrase: 'the right passphrase' }).datagram,
    dataPacket(ISN, reply.socketId, 1, new Uint8Array(1316)),
    buildControl(ControlType.Nak, 0, 0, 0, reply.socketId, buildNakCif([[1, 5000]])),
    buildControl(ControlType.Ack, 0, 1, 0, reply.socketId, new Uint8Array(28)),
    buildControl(ControlType.User, 3, 0, 0, reply.socketId, new Uint8Array(40)),
    buildControl(ControlType.DropReq, 0, 0, 0, reply.socketId, new Uint8Array(8)),
  ];
  const rnd = xorshift(11);
  const buf = new Uint8Array(8192);
  let now = 10;
  for (let i = 0; i < 20_000; i++) {
    const s = seeds[i % seeds.length]!;
    const n = mutate(s, buf, rnd);
    l.handle(buf.slice(0, n), i % 3 === 0 ? PEER : { address: '10.0.0.1', port: i & 0xffff }, now);
    if (i % 100 === 0) l.poll((now += 10));
    l.drainOutgoing();
  }
  const counted = Object.values(l.counters).reduce((a, b) => a + b, 0);
  assert.ok(counted > 1000, `counted ${counted}`);
});

test('a missing packet is asked for again one NAK interval after the last ask, not up to two', () => {
  const l = listener();
  const { reply } = connect(l, { streamId: 'live/a', latencyMs: 600 }, 0);
  const dst = reply.socketId;
  const naks: number[] = [];
  const collect = (t: number) => {
    for (const o of l.drainOutgoing()) {
      const p = parsePacket(o.data);
      if (p.control && p.type === ControlType.Nak) naks.push(t);
    }
  };
  for (let t = 1; t <= 400; t += 5) {
    if (t === 21) l.handle(dataPacket(ISN, dst, 1000, new Uint8Array([1])), PEER, t);
    if (t === 36) l.handle(dataPacket(ISN + 2, dst, 1100, new Uint8Array([3])), PEER, t);
    l.poll(t);
    collect(t);
  }
  // RTT 100 ms / var 50 ms before any sample: interval (100 + 4 * 50) / 2 = 150 ms.
  assert.equal(naks[0], 36, 'at once');
  assert.ok(naks[1]! >= 36 + 150 && naks[1]! <= 36 + 150 + 25, `again at ${naks[1]}`);
});
