/**
 * The SRT packet header (draft-sharabayko-srt section 3), 16 bytes, big-endian:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0|                    Packet Sequence Number                   |   data
 * |P P|O|K K|R|                 Message Number                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |1|         Control Type        |            Subtype            |   control
 * |                   Type-specific Information                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           Timestamp                           |
 * |                     Destination Socket ID                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const HEADER_SIZE = 16;

export const enum ControlType {
  Handshake = 0,
  Keepalive = 1,
  Ack = 2,
  Nak = 3,
  CongestionWarning = 4,
  Shutdown = 5,
  AckAck = 6,
  DropReq = 7,
  PeerError = 8,
  /** Carries in-session KMREQ / KMRSP (subtype 3 / 4) for key refresh. */
  User = 0x7fff,
}

/** Position of a packet in its message (PP bits). */
export const enum Boundary {
  Middle = 0,
  Last = 1,
  First = 2,
  Solo = 3,
}

/** Key used for a data packet's payload (KK bits): 0 none, 1 even, 2 odd. */
export type KeySpec = 0 | 1 | 2;

export interface DataPacket {
  control: false;
  seq: number;
  boundary: Boundary;
  inOrder: boolean;
  key: KeySpec;
  retransmitted: boolean;
  msgNo: number;
  timestamp: number;
  dstSocket: number;
  payload: Uint8Array;
}

export interface ControlPacket {
  control: true;
  type: number;
  subtype: number;
  info: number;
  timestamp: number;
  dstSocket: number;
  /** The Control Information Field. */
  cif: Uint8Array;
}

export type Packet = DataPacket | ControlPacket;

/** A datagram too short or malformed to be an SRT packet. */
export class SrtParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SrtParseError';
  }
}

/** Parses one datagram. Payload and CIF are views into `buf` (copy what you keep). */
export function parsePacket(buf: Uint8Array): Packet {
  if (buf.length < HEADER_SIZE) throw new SrtParseError(`datagram of ${buf.length} bytes is shorter than the SRT header`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const w0 = v.getUint32(0);
  const w1 = v.getUint32(4);
  const timestamp = v.getUint32(8);
  const dstSocket = v.getUint32(12);
  if (w0 & 0x80000000) {
    return { control: true, type: (w0 >>> 16) & 0x7fff, subtype: w0 & 0xffff, info: w1, timestamp, dstSocket, cif: buf.subarray(HEADER_SIZE) };
  }
  return {
    control: false,
    seq: w0,
    boundary: (w1 >>> 30) as Boundary,
    inOrder: (w1 & 0x20000000) !== 0,
    key: ((w1 >>> 27) & 3) as KeySpec,
    retransmitted: (w1 & 0x04000000) !== 0,
    msgNo: w1 & 0x03ffffff,
    timestamp,
    dstSocket,
    payload: buf.subarray(HEADER_SIZE),
  };
}

export function writeDataHeader(out: Uint8Array, p: Omit<DataPacket, 'control' | 'payload'>): void {
  const v = new DataView(out.buffer, out.byteOffset, HEADER_SIZE);
  v.setUint32(0, p.seq & 0x7fffffff);
  const w1 = ((p.boundary & 3) << 30) | (p.inOrder ? 0x20000000 : 0) | ((p.key & 3) << 27) | (p.retransmitted ? 0x04000000 : 0) | (p.msgNo & 0x03ffffff);
  v.setUint32(4, w1 >>> 0);
  v.setUint32(8, p.timestamp >>> 0);
  v.setUint32(12, p.dstSocket >>> 0);
}

/** Sets or clears the R bit of an already built data packet (a retransmission). */
export function markRetransmitted(pkt: Uint8Array): void {
  pkt[4] = pkt[4]! | 0x04;
}

export function setTimestamp(pkt: Uint8Array, timestamp: number): void {
  new DataView(pkt.buffer, pkt.byteOffset, HEADER_SIZE).setUint32(8, timestamp >>> 0);
}

export function buildControl(type: number, subtype: number, info: number, timestamp: number, dstSocket: number, cif: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + cif.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, (0x80000000 | ((type & 0x7fff) << 16) | (subtype & 0xffff)) >>> 0);
  v.setUint32(4, info >>> 0);
  v.setUint32(8, timestamp >>> 0);
  v.setUint32(12, dstSocket >>> 0);
  out.set(cif, HEADER_SIZE);
  return out;
}
