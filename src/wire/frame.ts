/**
 * The frames of a PROTECTED packet: one union, one encoder and one decoder that dispatch on
 * the type byte. `decodeFrames` reads a whole section and throws WireError on anything bad
 * (the caller drops the packet and counts the reason).
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';
import { type AckFrame, decodeAck, encodeAck } from './ack.js';
import { type CloseFrame, decodeClose, encodeClose } from './close.js';
import { type DataFrame, decodeData, encodeData, isDataType } from './data.js';
import { type FecRepairFrame, decodeFecRepair, encodeFecRepair } from './fecRepair.js';
import { type FeedbackFrame, decodeFeedback, encodeFeedback } from './feedback.js';
import { type FinishedFrame, decodeFinished, encodeFinished } from './finished.js';
import { type LostFrame, decodeLost, encodeLost } from './lost.js';
import { type MtuProbeFrame, decodeMtuProbe, encodeMtuProbe } from './mtuProbe.js';
import { type NackFrame, decodeNack, encodeNack } from './nack.js';
import { type PathFrame, decodePathFrame, encodePathFrame } from './pathChallenge.js';
import { type PingFrame, encodePing } from './ping.js';
import { type StreamOpenFrame, decodeStreamOpen, encodeStreamOpen } from './streamOpen.js';

export type Frame =
  | PingFrame
  | AckFrame
  | NackFrame
  | DataFrame
  | FecRepairFrame
  | StreamOpenFrame
  | MtuProbeFrame
  | CloseFrame
  | PathFrame
  | FeedbackFrame
  | FinishedFrame
  | LostFrame;

/** Frames no packet may hold more of (bounds the work one datagram can cause). */
export const MAX_FRAMES_PER_PACKET = 64;

/** `last`: nothing follows in this packet section (a DATA frame then leaves out its length). */
export function encodeFrame(w: Writer, f: Frame, last = false): void {
  switch (f.kind) {
    case 'ping': return encodePing(w);
    case 'ack': return encodeAck(w, f);
    case 'nack': return encodeNack(w, f);
    case 'data': return encodeData(w, f, last);
    case 'fec': return encodeFecRepair(w, f);
    case 'stream-open': return encodeStreamOpen(w, f);
    case 'mtu-probe':
    case 'mtu-probe-ack': return encodeMtuProbe(w, f);
    case 'close': return encodeClose(w, f);
    case 'path-challenge':
    case 'path-response': return encodePathFrame(w, f);
    case 'feedback': return encodeFeedback(w, f);
    case 'finished': return encodeFinished(w, f);
    case 'lost': return encodeLost(w, f);
  }
}

const PING: PingFrame = { kind: 'ping' };

/** Decodes one frame; returns undefined for PADDING (consumed). */
export function decodeFrame(r: Reader): Frame | undefined {
  const t = r.u8();
  if (isDataType(t)) return decodeData(r, t);
  switch (t) {
    case FrameType.PADDING: return undefined;
    case FrameType.PING: return PING;
    case FrameType.ACK: return decodeAck(r);
    case FrameType.NACK: return decodeNack(r);
    case FrameType.FEC_REPAIR: return decodeFecRepair(r);
    case FrameType.STREAM_OPEN: return decodeStreamOpen(r);
    case FrameType.MTU_PROBE: return decodeMtuProbe(r, 'mtu-probe');
    case FrameType.MTU_PROBE_ACK: return decodeMtuProbe(r, 'mtu-probe-ack');
    case FrameType.CLOSE: return decodeClose(r);
    case FrameType.PATH_CHALLENGE: return decodePathFrame(r, 'path-challenge');
    case FrameType.PATH_RESPONSE: return decodePathFrame(r, 'path-response');
    case FrameType.FEEDBACK: return decodeFeedback(r);
    case FrameType.FINISHED: return decodeFinished(r);
    case FrameType.LOST: return decodeLost(r);
    default: throw new WireError('bad-frame');
  }
}

/** Decodes every frame in buf[start, end) (one section: a frame never spans two) into out. */
export function decodeFrames(buf: Uint8Array, start: number, end: number, out: Frame[]): void {
  const r = new Reader(buf, start, end);
  while (r.left > 0) {
    const f = decodeFrame(r);
    if (f === undefined) continue;
    if (out.length >= MAX_FRAMES_PER_PACKET) throw new WireError('too-many-frames');
    out.push(f);
  }
}

/** True for frames that must travel in the encrypted section in 'headers' mode. */
export function isMediaFrame(f: Frame): boolean {
  return f.kind === 'data' || f.kind === 'fec';
}
