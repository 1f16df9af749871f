import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaParseError } from '../../../src/media/frame.js';
import { decodeMessage, encodeReport, MAX_REPORT_LINKS, type SenderReport } from '../../../src/media/tributary/index.js';
import { mutate, xorshift } from '../../fuzz.js';

const report: SenderReport = {
  bond: 'redundant', rttMs: 87, lossBeforeRepair: 0.0421, lossAfterRepair: 0.0003, fecShare: 0.12, retransmitShare: 0.034,
  sendingBps: 3_200_000, targetBps: 3_600_000, inputBps: 3_000_000,
  links: [
    { link: 'wlan0', state: 'active', rttMs: 60, loss: 0.02, share: 0.6, sendingBps: 2_000_000, targetBps: 2_400_000 },
    { link: 'usb0 (LTE)', state: 'down', rttMs: 400, loss: 1, share: 0, sendingBps: 0, targetBps: 100_000 },
  ],
};

test('a report decodes to what was encoded (fractions to 1/65535)', () => {
  const m = decodeMessage(encodeReport(report));
  assert.equal(m.type, 'report');
  if (m.type !== 'report') return;
  const r = m.report;
  assert.equal(r.bond, 'redundant');
  assert.deepEqual([r.rttMs, r.sendingBps, r.targetBps, r.inputBps], [87, 3_200_000, 3_600_000, 3_000_000]);
  for (const k of ['lossBeforeRepair', 'lossAfterRepair', 'fecShare', 'retransmitShare'] as const) assert.ok(Math.abs(r[k] - report[k]) < 1 / 65535, k);
  assert.deepEqual(r.links.map((l) => [l.link, l.state, l.rttMs, l.sendingBps, l.targetBps]), report.links.map((l) => [l.link, l.state, l.rttMs, l.sendingBps, l.targetBps]));
  assert.ok(Math.abs(r.links[0]!.share - 0.6) < 1e-4);
});

test('absurd figures are clamped on encode, never written as garbage', () => {
  const m = decodeMessage(encodeReport({ ...report, rttMs: 1e9, lossBeforeRepair: 7, sendingBps: -5, targetBps: NaN, links: [] }));
  assert.ok(m.type === 'report');
  if (m.type !== 'report') return;
  assert.deepEqual([m.report.rttMs, m.report.lossBeforeRepair, m.report.sendingBps, m.report.targetBps], [65535, 1, 0, 0]);
});

test('a report claiming more links than allowed, an unknown state or trailing bytes is refused', () => {
  const many = encodeReport({ ...report, links: [] });
  const lying = many.slice();
  lying[lying.length - 1] = MAX_REPORT_LINKS + 1;
  assert.throws(() => decodeMessage(lying), MediaParseError);
  const bad = encodeReport(report);
  const at = 1 + 1 + 10 + 12 + 1 + 1 + 'wlan0'.length; // header, bond, 5 u16, 3 u32, count, str8 length, name
  bad[at] = 9;
  assert.throws(() => decodeMessage(bad), /link state/);
  assert.throws(() => decodeMessage(new Uint8Array([...encodeReport(report), 0])), /trailing/);
  // Sixteen links at most are written, whatever the sender holds.
  const m = decodeMessage(encodeReport({ ...report, links: Array.from({ length: 40 }, () => report.links[0]!) }));
  assert.ok(m.type === 'report' && m.report.links.length === MAX_REPORT_LINKS);
});

test('200,000 mutated reports: decode returns or throws MediaParseError, nothing else', () => {
  const seeds = [encodeReport(report), encodeReport({ ...report, links: [] })];
  const rnd = xorshift(0x5e9d);
  const out = new Uint8Array(1024);
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < 200_000; i++) {
    const len = mutate(seeds[i % 2]!, out, rnd);
    try {
      decodeMessage(out.subarray(0, len));
      ok++;
    } catch (e) {
      if (!(e instanceof MediaParseError)) throw e;
      refused++;
    }
  }
  assert.ok(ok > 1000 && refused > 1000, `both paths exercised: ${ok} decoded, ${refused} refused`);
});
