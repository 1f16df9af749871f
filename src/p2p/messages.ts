/**
 * The P2P control and data messages, as objects. The core takes and returns these; a shell
 * that crosses a real network encodes them with codec.ts (the simulator passes the objects and
 * counts `encodedSize` bytes, so its byte figures are the wire's).
 *
 * Peer ids are u32s handed out by the edge. Sequence numbers are u32 per stream; capture
 * times are ms on the edge's clock (u32 of ms since the stream started is enough for 49 days).
 */

/** What the edge says about one slice before anyone may trust a copy of it from a peer. */
export interface SliceInfo {
  seq: number;
  captureMs: number;
  key: boolean;
  size: number;
  /** The first DIGEST_BYTES of SHA-256 over (seq, captureMs, key, payload). */
  digest: Uint8Array;
}

export const enum Msg {
  // peer -> edge
  Join = 1,
  Report = 2,
  Compensate = 3,
  NeedParent = 4,
  BadPeer = 5,
  Leave = 6,
  NeedNeighbours = 7,
  // edge -> peer
  Welcome = 16,
  Digests = 17,
  Parent = 18,
  Role = 19,
  Refused = 20,
  Neighbours = 21,
  // peer <-> peer (and edge -> peer for data)
  Hello = 32,
  BufferMap = 33,
  Request = 34,
  NotHave = 35,
  Subscribe = 36,
  SubAck = 37,
  Bye = 38,
  Slice = 39,
}

export interface JoinMsg { t: Msg.Join; region: number; isp: number; uploadKbps: number; reachable: boolean; nominate: boolean }
/** Every few seconds: what the tracker scores a peer by, and how its parents served it. */
export interface ReportMsg {
  t: Msg.Report;
  /** Upload queue the shell reports (ms of backlog): the peer's own load. */
  backlogMs: number;
  /** Fraction of slices played on time since the last report, x1000. */
  continuity: number;
  /** Per parent: pushes that arrived before their push deadline, x1000. */
  parents: Array<{ id: number; onTime: number }>;
}
export interface CompensateMsg { t: Msg.Compensate; seqs: number[] }
/** `late`: the old parent `not` stopped pushing or pushed late (the tracker scores it down); otherwise it refused or left. */
export interface NeedParentMsg { t: Msg.NeedParent; substream: number; not: number; late: boolean }
export interface BadPeerMsg { t: Msg.BadPeer; id: number; reason: number }
export interface LeaveMsg { t: Msg.Leave }
export interface NeedNeighboursMsg { t: Msg.NeedNeighbours; count: number }

export interface WelcomeMsg {
  t: Msg.Welcome;
  id: number;
  substreams: number;
  /** The slices the edge holds now (newest last), so a joiner knows what exists and where the last keyframe is. */
  index: SliceInfo[];
  neighbours: number[];
  /** parents[k]: who pushes substream k (0 = the edge itself). */
  parents: number[];
}
export interface DigestsMsg { t: Msg.Digests; infos: SliceInfo[] }
export interface ParentMsg { t: Msg.Parent; substream: number; id: number }
/** Promotion (substreams this super node is responsible for, as a bit mask) or demotion (mask 0). */
export interface RoleMsg { t: Msg.Role; mask: number }
export interface RefusedMsg { t: Msg.Refused; seqs: number[] }
export interface NeighboursMsg { t: Msg.Neighbours; ids: number[] }

export interface HelloMsg { t: Msg.Hello; ack: boolean }
/** Which of the slices [base, base + bits.length*8) the sender holds, bit i = base + i. */
export interface BufferMapMsg { t: Msg.BufferMap; base: number; bits: Uint8Array }
export interface RequestMsg { t: Msg.Request; seqs: number[] }
export interface NotHaveMsg { t: Msg.NotHave; seqs: number[] }
/** Pre-subscription: push me every future slice of these substreams (bit mask; 0 = stop). */
export interface SubscribeMsg { t: Msg.Subscribe; mask: number }
export interface SubAckMsg { t: Msg.SubAck; mask: number }
export interface ByeMsg { t: Msg.Bye }
/** A slice's bytes. `pushed` says it came by pre-subscription, not on request. */
export interface SliceMsg { t: Msg.Slice; seq: number; captureMs: number; key: boolean; pushed: boolean; payload: Uint8Array }

export type ToEdge = JoinMsg | ReportMsg | CompensateMsg | NeedParentMsg | BadPeerMsg | LeaveMsg | NeedNeighboursMsg;
export type FromEdge = WelcomeMsg | DigestsMsg | ParentMsg | RoleMsg | RefusedMsg | NeighboursMsg | SliceMsg;
export type PeerMsg = HelloMsg | BufferMapMsg | RequestMsg | NotHaveMsg | SubscribeMsg | SubAckMsg | ByeMsg | SliceMsg;
export type AnyMsg = ToEdge | FromEdge | PeerMsg;

/** The edge's id in `to`/`from` fields: peers are numbered from 1. */
export const EDGE = 0;

/** A message the core wants sent. `to` is a peer id or EDGE. */
export interface Out<M = AnyMsg> {
  to: number;
  msg: M;
}
