/**
 * The sender's report: what `tributary send` sees of its own session, once a second on the
 * control stream, so the server (and its dashboard) can show RTT, loss before and after
 * repair, FEC and resend shares, the sending rate against the controller's target, and each
 * bonded link. The server cannot measure these itself: they are the sending side's figures
 * (its RTT samples, its retransmissions, its controller), and on the receiving side the same
 * session's stats describe the server's own, nearly idle, sending direction.
 *
 *   report (control, publisher -> server):
 *     u8 bond (0 single, 1 aggregate, 2 redundant, 3 auto) | u16 rtt ms | u16 loss before repair
 *     | u16 loss after repair | u16 FEC share | u16 resend share (fractions as x / 65535)
 *     | u32 sending bit/s | u32 target bit/s | u32 input bit/s | u8 link count (<= 16)
 *     per link: str8 name | u8 state (0 probing, 1 active, 2 standby, 3 down) | u16 rtt ms
 *               | u16 loss | u16 share | u32 sending bit/s | u32 target bit/s
 *
 * Fixed-size fields and a small link cap: a report is at most a few KiB whatever a peer writes.
 * Figures are what the sender claims; the server shows them as such and checks only syntax.
 */
import { MediaParseError } from '../frame.js';
import { Reader, Writer } from './bytes.js';
import { MessageType, header } from './codes.js';

export const REPORT_BONDS = ['single', 'aggregate', 'redundant', 'auto'] as const;
export const REPORT_LINK_STATES = ['probing', 'active', 'standby', 'down'] as const;
export const MAX_REPORT_LINKS = 16;

export interface ReportLink {
  link: string;
  state: (typeof REPORT_LINK_STATES)[number];
  rttMs: number;
  loss: number;
  share: number;
  sendingBps: number;
  targetBps: number;
}

export interface SenderReport {
  bond: (typeof REPORT_BONDS)[number];
  rttMs: number;
  lossBeforeRepair: number;
  lossAfterRepair: number;
  fecShare: number;
  retransmitShare: number;
  sendingBps: number;
  targetBps: number;
  inputBps: number;
  links: ReportLink[];
}

const u16 = (v: number): number => Math.max(0, Math.min(0xffff, Math.round(Number.isFinite(v) ? v : 0)));
const u32 = (v: number): number => Math.max(0, Math.min(0xffffffff, Math.round(Number.isFinite(v) ? v : 0)));
const fraction = (v: number): number => u16(Math.min(1, v) * 0xffff);

export function encodeReport(r: SenderReport): Uint8Array {
  const links = r.links.slice(0, MAX_REPORT_LINKS);
  const w = new Writer(32 + links.length * 280)
    .u8(header(MessageType.report))
    .u8(Math.max(0, REPORT_BONDS.indexOf(r.bond)))
    .u16(u16(r.rttMs))
    .u16(fraction(r.lossBeforeRepair))
    .u16(fraction(r.lossAfterRepair))
    .u16(fraction(r.fecShare))
    .u16(fraction(r.retransmitShare))
    .u32(u32(r.sendingBps))
    .u32(u32(r.targetBps))
    .u32(u32(r.inputBps))
    .u8(links.length);
  for (const l of links) {
    w.str8(l.link.slice(0, 60))
      .u8(Math.max(0, REPORT_LINK_STATES.indexOf(l.state)))
      .u16(u16(l.rttMs))
      .u16(fraction(l.loss))
      .u16(fraction(l.share))
      .u32(u32(l.sendingBps))
      .u32(u32(l.targetBps));
  }
  return w.finish();
}

function pick<T>(list: readonly T[], n: number, what: string): T {
  const v = list[n];
  if (v === undefined) throw new MediaParseError(`unknown report ${what} ${n}`);
  return v;
}

/** The body after the type byte. Throws MediaParseError on anything out of range. */
export function decodeReportBody(r: Reader): SenderReport {
  const bond = pick(REPORT_BONDS, r.u8(), 'bond');
  const rttMs = r.u16();
  const lossBeforeRepair = r.u16() / 0xffff;
  const lossAfterRepair = r.u16() / 0xffff;
  const fecShare = r.u16() / 0xffff;
  const retransmitShare = r.u16() / 0xffff;
  const sendingBps = r.u32();
  const targetBps = r.u32();
  const inputBps = r.u32();
  const n = r.u8();
  if (n > MAX_REPORT_LINKS) throw new MediaParseError(`report with ${n} links (at most ${MAX_REPORT_LINKS})`);
  const links: ReportLink[] = [];
  for (let i = 0; i < n; i++) {
    links.push({
      link: r.str8(),
      state: pick(REPORT_LINK_STATES, r.u8(), 'link state'),
      rttMs: r.u16(),
      loss: r.u16() / 0xffff,
      share: r.u16() / 0xffff,
      sendingBps: r.u32(),
      targetBps: r.u32(),
    });
  }
  r.end();
  return { bond, rttMs, lossBeforeRepair, lossAfterRepair, fecShare, retransmitShare, sendingBps, targetBps, inputBps, links };
}
