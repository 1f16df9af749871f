/** A minimal SRT caller's packets, built from the draft, for driving the Listener in virtual time. */
import { buildHandshake, buildSrtHs, encodeStreamId, Ext, ExtFlag, HsType, parseHandshake, SrtFlag, UDT_DGRAM, type Handshake, type HsExtension } from '../../src/srt/handshake.js';
import { buildControl, ControlType, HEADER_SIZE, parsePacket, writeDataHeader, Boundary } from '../../src/srt/packet.js';
import { buildKm, makeKm } from '../../src/srt/crypto/KeyMaterial.js';

export const CALLER_SOCKET = 0x1234567;
export const ISN = 1000;

function base(type: number, cookie: number, version: number, extension: number, extensions: HsExtension[] = []): Handshake {
  return { version, encryption: 0, extension, isn: ISN, mtu: 1500, flowWindow: 8192, type, socketId: CALLER_SOCKET, cookie, peerIp: new Uint8Array(16), extensions };
}

export function induction(version = 4): Uint8Array {
  return buildControl(ControlType.Handshake, 0, 0, 1000, 0, buildHandshake(base(HsType.Induction, 0, version, UDT_DGRAM)));
}

export interface ConclusionOptions {
  streamId?: string;
  version?: number;
  latencyMs?: number;
  passphrase?: string;
  /** Raw SID extension bytes (for hostile tests). */
  rawSid?: Uint8Array;
  timestampUs?: number;
}

export function conclusion(cookie: number, o: ConclusionOptions = {}): { datagram: Uint8Array; key?: Buffer; salt?: Uint8Array } {
  const lat = o.latencyMs ?? 120;
  const exts: HsExtension[] = [{ type: Ext.HsReq, data: buildSrtHs({ version: 0x010501, flags: SrtFlag.TsbpdSnd | SrtFlag.TsbpdRcv | SrtFlag.TlPktDrop | SrtFlag.PeriodicNak | SrtFlag.RexmitFlg, recvDelayMs: lat, sendDelayMs: lat }) }];
  let key: Buffer | undefined;
  let salt: Uint8Array | undefined;
  if (o.passphrase !== undefined) {
    const m = makeKm(o.passphrase);
    key = m.key;
    salt = m.km.salt;
    exts.push({ type: Ext.KmReq, data: buildKm(m.km) });
  }
  if (o.rawSid) exts.push({ type: Ext.Sid, data: o.rawSid });
  else if (o.streamId !== undefined) exts.push({ type: Ext.Sid, data: encodeStreamId(o.streamId) });
  const flags = ExtFlag.HsReq | (key ? ExtFlag.KmReq : 0) | ExtFlag.Config;
  const hs = base(HsType.Conclusion, cookie, o.version ?? 5, flags, exts);
  const r: { datagram: Uint8Array; key?: Buffer; salt?: Uint8Array } = { datagram: buildControl(ControlType.Handshake, 0, 0, o.timestampUs ?? 2000, 0, buildHandshake(hs)) };
  if (key) r.key = key;
  if (salt) r.salt = salt;
  return r;
}

export function readHandshake(d: Uint8Array): Handshake {
  const p = parsePacket(d);
  if (!p.control || p.type !== ControlType.Handshake) throw new Error('not a handshake');
  return parseHandshake(p.cif);
}

export function dataPacket(seq: number, dst: number, tsUs: number, payload: Uint8Array, retransmitted = false): Uint8Array {
  const d = new Uint8Array(HEADER_SIZE + payload.length);
  writeDataHeader(d, { seq, boundary: Boundary.Solo, inOrder: false, key: 0, retransmitted, msgNo: 1, timestamp: tsUs, dstSocket: dst });
  d.set(payload, HEADER_SIZE);
  return d;
}
