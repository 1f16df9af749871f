/**
 * The public face of the transport core. The core is a sans-IO state machine (quinn's design):
 * datagrams and `now` go in; datagrams to send, the next wake-up time and events come out.
 * Nothing behind these interfaces reads a clock, opens a socket or sets a timer.
 *
 * Time: `now` is milliseconds on any monotonic clock the caller picks (real or virtual).
 *
 * Paths: a path is named by an opaque string key chosen by the shell. On a client it names a
 * local link ("wifi", "usb0", "127.0.0.2"), on a server the peer's "ip:port". A datagram that
 * arrives on a path the session does not know yet, carrying a valid session id and passing
 * authentication, becomes a new path of that session (NAT rebinding, address change, bonding).
 */

export type StreamClass = 'control' | 'audio' | 'video';

/** Reliable streams retransmit until delivered, in order; deadline streams give up at the deadline. */
export type Reliability = 'reliable' | 'deadline';

export type EncryptionMode = 'none' | 'headers' | 'all';

export interface Datagram {
  /** Path key (see above). The shell maps it to a socket and a remote address. */
  path: string;
  data: Uint8Array;
}

export interface StreamOptions {
  class: StreamClass;
  reliability: Reliability;
  /** Lower is more urgent. Control 0, audio 1, video 2 by default. */
  priority: number;
}

export interface MessageMeta {
  /** Absolute time (same clock as `now`) after which the message is worthless. Deadline streams only. */
  deadline?: number;
  /** Video: a keyframe (gets stronger FEC; the drop policy keeps it as long as it can). */
  keyframe?: boolean;
  /** Video: false for non-reference frames, which are dropped first. Default true. */
  reference?: boolean;
  /** Opaque application timestamp carried with the message (e.g. capture time), ms. */
  timestamp?: number;
}

export type SessionEvent =
  | { type: 'connected' }
  | { type: 'stream-opened'; streamId: number; options: StreamOptions }
  | { type: 'message'; streamId: number; messageId: number; data: Uint8Array; meta: MessageMeta }
  /** The sender gave up on a message (deadline passed or dropped by the queue policy). */
  | { type: 'message-dropped'; streamId: number; reason: 'deadline' | 'queue'; messageId?: number; timestamp?: number }
  /**
   * A video stream lost a reference frame and refuses frames until a keyframe: an encoder that
   * can make one on demand should (the next keyframe otherwise ends the gap, up to a GOP later).
   */
  | { type: 'keyframe-wanted'; streamId: number }
  | { type: 'path-up'; path: string }
  | { type: 'path-down'; path: string }
  | { type: 'closed'; reason: string; byPeer: boolean };

export interface PathStats {
  path: string;
  state: 'probing' | 'active' | 'standby' | 'down';
  srttMs: number;
  rttVarMs: number;
  mtu: number;
  lossRate: number;
  /** Bytes per second this end sent on the path over the last second, as bit/s. */
  sendRateBps: number;
  /** Fraction of the media packets of the last second that went on this path. */
  share: number;
  /** The path's own congestion controller's target. */
  targetBitrateBps: number;
  /** That controller's name ('delay-loss', 'capacity', or a replacement's). */
  controller: string;
  bytesInFlight: number;
  bytesReceived: number;
  /** What arrived on the path over the last full second, bit/s (the receiver's view of a bonded link). */
  receiveRateBps: number;
}

export interface SessionStats {
  state: 'handshake' | 'connected' | 'closing' | 'closed';
  srttMs: number;
  rttVarMs: number;
  /** Fraction of data packets lost on the wire, before FEC and retransmission. */
  lossBeforeRepair: number;
  /** Fraction of messages (deadline streams) not delivered in time, after repair. */
  lossAfterRepair: number;
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  fecPacketsSent: number;
  fecRecovered: number;
  /** Media bitrate the congestion controller says the application may produce now. */
  targetBitrateBps: number;
  pacingRateBps: number;
  mtu: number;
  messagesDropped: number;
  /** Datagrams dropped on receive, by reason (truncated, bad-version, auth, replay, ...). */
  dropped: Record<string, number>;
  paths: PathStats[];
  /** Retransmissions by what triggered them: NACK, 3 later packets acked, time threshold, RTO. */
  retransmitsByCause?: { nack: number; reorder: number; early: number; timeout: number };
  /** The encryption mode both ends agreed on. */
  encryption?: EncryptionMode;
  /** The wire loss FEC is sized for, 0..1: from the receiver's reports, with a margin (2% assumed before the first). */
  lossEstimate?: number;
  /** How packets are spread over paths (bonding). */
  bond?: 'single' | 'aggregate' | 'redundant' | 'auto';
  /** Media bytes sent as extra copies on other paths (redundant/auto bonding). */
  copyBytes?: number;
  /** Times a path was taken out of the schedule for silence. */
  pathsDowned?: number;
  /** LOST reports: sent to the peer (frames this end could not complete), and the peer's applied here. */
  lossReports?: { sent: number; applied: number };
}

/** Both ends of a session, and the server endpoint, are driven the same way. */
export interface SansIo {
  handleDatagram(now: number, path: string, data: Uint8Array): void;
  handleTimeout(now: number): void;
  /** The next datagram to send now, or undefined (paced: call again after pollTimeout). */
  pollTransmit(now: number): Datagram | undefined;
  /** Absolute time of the next needed handleTimeout call, or undefined when idle forever. */
  pollTimeout(): number | undefined;
}

export interface Session extends SansIo {
  /** The identity the client named in its hello (server side: which key authenticated it). */
  readonly identity?: string;
  readonly id: bigint;
  pollEvent(): SessionEvent | undefined;
  /** Opens a stream; the peer gets a 'stream-opened' event. */
  openStream(now: number, options: StreamOptions): number;
  /** Queues one message (any size; fragmented to the path MTU). Returns false if refused. */
  send(now: number, streamId: number, data: Uint8Array, meta?: MessageMeta): boolean;
  /** Client only: adds a local link to send over. */
  addPath(now: number, path: string): void;
  stats(): SessionStats;
  close(now: number, reason: string): void;
}
