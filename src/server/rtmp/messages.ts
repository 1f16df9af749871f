import { encodeAmf0 } from '../../media/amf0.js';

/** RTMP message type ids. */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** User control event types (message type 4). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Chunk stream ids this server writes on (any 2..63 would do; these are what FMS uses). */
export const Csid = { Control: 2, Command: 3, Audio: 4, Video: 6, Data: 5 } as const;

export interface RtmpMessage {
  csid: number;
  type: number;
  streamId: number;
  /** ms, 32-bit wrapping as on the wire. */
  timestamp: number;
  payload: Uint8Array;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

export function setChunkSizeBody(size: number): Uint8Array {
  return u32(size & 0x7fffffff);
}

export function windowAckSizeBody(size: number): Uint8Array {
  return u32(size);
}

export function ackBody(sequence: number): Uint8Array {
  return u32(sequence);
}

/** limitType: 0 hard, 1 soft, 2 dynamic. */
export function setPeerBandwidthBody(size: number, limitType: 0 | 1 | 2): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(0, size >>> 0);
  b[4] = limitType;
  return b;
}

export function userControlBody(event: number, value: number): Uint8Array {
  const b = new Uint8Array(6);
  const v = new DataView(b.buffer);
  v.setUint16(0, event);
  v.setUint32(2, value >>> 0);
  return b;
}

export function commandBody(name: string, transactionId: number, ...args: unknown[]): Uint8Array {
  return encodeAmf0(name, transactionId, ...args);
}

/** The info object of an onStatus call. */
export function status(level: 'status' | 'error' | 'warning', code: string, description: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { level, code, description, ...extra };
}
