import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkOffer } from '../../src/webrtc/sdp.js';
import { makeOffer } from './offers.js';

let offer: string;

before(async () => {
  const o = await makeOffer({ video: 'H264', direction: 'sendonly' });
  offer = o.sdp;
  await o.pc.close();
});

test('an offer is narrowed to one H.264 (packetization-mode 1, 42e01f first) and one Opus payload type, NACK/PLI feedback only', () => {
  // Chrome-like video section: VP8, H.264 mode 0, H.264 High, H.264 42e01f, RTX of each, transport-cc feedback.
  const chromeVideo = offer.replace(/m=video (\d+) (\S+) [\d ]+\r\n/, 'm=video $1 $2 96 97 102 103 106 107\r\n')
    .replace(/a=rtpmap:\d+ H264\/90000\r\n/, 'a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=0;profile-level-id=42e01f\r\na=rtpmap:103 H264/90000\r\na=fmtp:103 packetization-mode=1;profile-level-id=640032\r\na=rtpmap:106 H264/90000\r\na=rtcp-fb:106 transport-cc\r\na=rtcp-fb:106 nack\r\na=rtcp-fb:106 nack pli\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=106\r\n');
  const r = checkOffer(chromeVideo, 'whip');
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.media.find((m) => m.kind === 'video')?.payloadType, 106);
  assert.match(r.sdp, /m=video \d+ \S+ 106\r\n/);
  assert.doesNotMatch(r.sdp, /VP8|rtx|transport-cc|a=rtpmap:10[23]/);
  assert.match(r.sdp, /a=rtcp-fb:106 nack pli/);
});

test('WHIP refuses a recvonly offer and WHEP a sendonly one', () => {
  const r = checkOffer(offer, 'whep');
  assert.ok(!r.ok && r.status === 400 && /sendonly/.test(r.message), JSON.stringify(r));
  const r2 = checkOffer(offer.replace(/a=sendonly/g, 'a=recvonly'), 'whip');
  assert.ok(!r2.ok && r2.status === 400 && /recvonly/.test(r2.message));
});

test('mutated offers never throw: each is accepted or refused with a 4xx', () => {
  const lines = offer.split('\r\n');
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(lines.length), fc.oneof(fc.string({ maxLength: 80 }), fc.constant('m=video 9 UDP/TLS/RTP/SAVPF 1'), fc.constant('a=rtpmap:1 H264/90000'))), { maxLength: 20 }), fc.boolean(), (edits, crlf) => {
    const l = [...lines];
    for (const [at, text] of edits) l.splice(at, text.length % 3 === 0 ? 1 : 0, text);
    const r = checkOffer(l.join(crlf ? '\r\n' : '\n'), edits.length % 2 ? 'whip' : 'whep');
    if (!r.ok) assert.ok(r.status === 400 || r.status === 406);
  }), { numRuns: 500 });
  for (const junk of ['\0'.repeat(100), 'v=0\r\n' + 'a=x\r\n'.repeat(5000), 'v=0\r\no=x\r\n' + 'm=audio 9 RTP/AVP 0\r\n'.repeat(20)]) {
    const r = checkOffer(junk, 'whip');
    assert.ok(!r.ok && r.status === 400, JSON.stringify(r).slice(0, 200));
  }
});
