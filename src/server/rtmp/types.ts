import type { BackpressureLimits } from '../Subscriber.js';
import type { ChunkReaderLimits } from './ChunkReader.js';

/** Any pino-compatible logger; the server logs through it as `logger.warn({ ...fields }, 'msg')`. */
export interface RtmpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLogger: RtmpLogger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Decides whether a publish or play may go ahead: returns a refusal reason, or undefined to
 * allow. `key` is the stream name without its query; `query` holds the parameters of both the
 * app part and the stream name (OBS users put `?token=...` after the key).
 */
export type RtmpAuthorize = (action: 'publish' | 'play', app: string, key: string, query: URLSearchParams, remote: string) => string | undefined;

export interface RtmpOptions extends ChunkReaderLimits {
  /** A connection that hasn't finished the handshake by then is closed. Default 10 s. */
  handshakeTimeoutMs: number;
  /** A connection with no bytes in or out for this long is closed. Default 60 s. */
  idleTimeoutMs: number;
  /** Chunk size this server writes with (announced after connect). Default 4096. */
  outChunkSize: number;
  /** Window acknowledgement size announced to clients. Default 2,500,000. */
  windowAckSize: number;
  /** Message streams (createStream) one connection may hold. Default 8. */
  maxStreamsPerConnection: number;
  /** Open connections; more are refused at accept. Default 10,000. */
  maxConnections: number;
  /** Slow-viewer policy of RTMP players. */
  viewerLimits: BackpressureLimits;
  /**
   * Which actions need a token. A connection whose publish or play passed a required check is
   * authenticated: it no longer counts against the per-address cap or the unauthenticated
   * input budget (the per-connection limits still hold). Default: neither.
   */
  authRequired: { publish: boolean; play: boolean };
}

/** Counters as a plain object (read it, copy it, export it as metrics). */
export interface RtmpStats {
  connectionsOpen: number;
  connectionsTotal: number;
  connectionsRefused: number;
  handshakesSimple: number;
  handshakesComplex: number;
  publishes: number;
  publishesRefused: number;
  plays: number;
  playsRefused: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  /** Messages dropped without closing the connection (bad media, unknown types, aborts). */
  messagesDropped: number;
  /** Connections closed for a protocol violation or timeout, by reason. */
  errors: Record<string, number>;
  /** Connections refused at accept, by reason ('address limit', 'memory budget'); included in connectionsRefused. */
  refusedBy: Record<string, number>;
}

export function emptyStats(): RtmpStats {
  return {
    connectionsOpen: 0,
    connectionsTotal: 0,
    connectionsRefused: 0,
    handshakesSimple: 0,
    handshakesComplex: 0,
    publishes: 0,
    publishesRefused: 0,
    plays: 0,
    playsRefused: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesDropped: 0,
    errors: {},
    refusedBy: {},
  };
}
