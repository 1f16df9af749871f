/**
 * The text half of the signalling WebSocket (binary frames are the core's messages, codec.ts).
 * Peers send offers, answers and ICE candidates for one another through the edge; the edge
 * only checks the shape and that the addressee is a peer of the same stream, and passes the
 * body on (the browser's own RTCPeerConnection is the one to parse SDP).
 *
 *   peer -> edge  {"t":"signal","to":ID,"data":{...}}
 *   edge -> peer  {"t":"signal","from":ID,"data":{...}}
 *                 {"t":"setup","rtc":{iceServers,iceTransportPolicy},"core":P2pConfig,"uploadKbps":N,"now":MS,"init":BASE64}
 *                 {"t":"init","init":BASE64}   (the FLV header, onMetaData and sequence headers, when they change)
 *                 {"t":"clock","now":MS}       (the edge's clock, which slices' capture times are on)
 */

export interface SignalIn {
  to: number;
  data: Record<string, unknown>;
}

/** The peer's signal, or a reason it is not one. */
export function parseSignal(text: string): SignalIn | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const o = v as Record<string, unknown>;
  if (o.t !== 'signal') return 'unknown type';
  if (typeof o.to !== 'number' || !Number.isInteger(o.to) || o.to <= 0 || o.to > 0xffffffff) return 'bad addressee';
  if (typeof o.data !== 'object' || o.data === null || Array.isArray(o.data)) return 'bad body';
  return { to: o.to, data: o.data as Record<string, unknown> };
}
