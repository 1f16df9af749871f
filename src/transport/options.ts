/** Options shared by both roles; every field has a default stated beside it. */
import type { EncryptionMode } from './api.js';
import type { SendAlgorithm } from './cc/SendAlgorithm.js';
import type { CcName } from './cc/select.js';
import type { FecPolicy } from './FecPolicy.js';
import type { BondMode } from './Bonding.js';
import type { SchedulerName } from './scheduler/Scheduler.js';
import type { Random } from './Random.js';
import type { AddressLimitOptions } from './AddressLimits.js';
import type { KeyPair } from './crypto/keys.js';

export interface CommonOptions {
  /** Encryption mode asked for (client) or the minimum accepted (server). Default 'all'. */
  encryption?: EncryptionMode;
  /** Randomness; default CryptoRandom. Pass a SeededRandom for repeatable runs. */
  random?: Random;
  /** Path MTU to start from (default 1200) and to probe up to (default 1452). */
  initialMtu?: number;
  maxMtu?: number;
  /** PING after this long without sending (default 5000 ms; at most 15000). */
  keepaliveMs?: number;
  /** Close after this long without receiving (default 30000 ms). */
  idleTimeoutMs?: number;
  /** RTT assumed before the first sample (default 300 ms). */
  initialRttMs?: number;
  /** Congestion controller start and bounds (defaults 1 Mbit/s, 100 kbit/s, 50 Mbit/s). */
  initialBitrateBps?: number;
  minBitrateBps?: number;
  maxBitrateBps?: number;
  /**
   * Which congestion controller each path gets: 'delay' (the delay/loss controller, default)
   * or 'capacity' (follows the delivered rate, cc/CapacityController). `congestion` overrides it.
   */
  cc?: CcName;
  /** Replace the congestion controller (one per path: a factory) or the FEC policy. */
  congestion?: () => SendAlgorithm;
  fecPolicy?: FecPolicy;
  /** How media is spread over several paths (default 'single': the best path only). */
  bond?: BondMode;
  /** Which path each packet of a bond takes (default 'earliest-arrival'; 'lowest-rtt' is the old rule, kept to compare). */
  scheduler?: SchedulerName;
  /** FEC on deadline streams (default true). */
  fec?: boolean;
  /** Receiver waits this long before NACKing a gap (default 10 ms). */
  reorderDelayMs?: number;
  /** Bytes of incomplete messages buffered per session (default 8 MiB). */
  maxBufferBytes?: number;
  /** Tests only: the first PROTECTED packet number (default 1), to run a session up to the 2^32 limit. */
  firstPacketNumber?: number;
}

export interface ClientOptions extends CommonOptions {
  now: number;
  /** Path key of the first local link (default 'default'). */
  path?: string;
  /** The pre-shared key: the stream's publish token or a server key. */
  psk: Uint8Array | string;
  /** Tells the server which psk to use (e.g. "live/mykey"); up to 255 bytes. */
  identity?: string;
  /**
   * Accepts or refuses the server's static key, once the SERVER HELLO proved the server holds
   * it: returns why not (the session closes with that reason) or undefined. Pinning and trust on
   * first use live behind this. Default: any key.
   */
  checkServerKey?: (staticPublicKey: Uint8Array) => string | undefined;
}

/**
 * What resolvePsk answers: the psk, or { psk, open: true } when that psk is public (a stream
 * that needs no token), so the session proves nothing about the client and counts against
 * maxOpenSessionsPerAddress.
 */
export type PskAnswer = Uint8Array | string | { psk: Uint8Array | string; open: boolean };

export interface EndpointOptions extends CommonOptions, AddressLimitOptions {
  now: number;
  /** The psk for an identity, or undefined to refuse the client. */
  resolvePsk: (identity: string) => PskAnswer | undefined;
  /** The peer address of a path key, which the per-address limits count by (default: the IP of "ip:port" / "tcp:ip:port"). */
  addressOf?: (path: string) => string;
  /** The server's long-term X25519 key (default: a new one per endpoint, so nothing to pin). */
  staticKey?: KeyPair;
  /** Require a retry cookie before any state is kept (default true). */
  requireRetry?: boolean;
}

export function resolvedPsk(a: PskAnswer | undefined): { psk: Uint8Array | string; open: boolean } | undefined {
  if (a === undefined) return undefined;
  return typeof a === 'string' || a instanceof Uint8Array ? { psk: a, open: false } : a;
}

export function pskBytes(psk: Uint8Array | string): Uint8Array {
  return typeof psk === 'string' ? new TextEncoder().encode(psk) : psk;
}

export const MODE_CODE: Record<EncryptionMode, number> = { none: 0, headers: 1, all: 2 };
export const MODE_NAME: EncryptionMode[] = ['none', 'headers', 'all'];
