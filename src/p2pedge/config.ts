import { z } from 'zod';
import { DEFAULT_CONFIG, type P2pConfig } from '../p2p/config.js';

const IceServer = z.strictObject({
  urls: z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(4)]),
  username: z.string().max(128).optional(),
  credential: z.string().max(128).optional(),
});

/**
 * The node's `p2p` section (docs/operations.md, "P2P"): absent or `enabled: false`, the
 * signalling endpoint is a 404 and every viewer plays from the edge. The limits bound what one
 * hostile browser can make the edge do.
 */
export const P2pSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Apps whose streams are shared among viewers; empty: every app. */
    apps: z.array(z.string().min(1).max(64)).max(64).default([]),
    /** Slices a second the stream makes (video frames plus audio frames; 30 fps + AAC 44.1 kHz is ~73). */
    slicesPerSecond: z.number().int().min(10).max(400).default(80),
    /** The stream's bitrate as the tracker counts push slots, kbit/s. */
    bitrateKbps: z.number().int().min(50).max(50_000).default(1500),
    /** Upload a browser says it has when it cannot measure it, kbit/s (a super node needs 2x the stream). */
    browserUploadKbps: z.number().int().min(0).max(1_000_000).default(4000),
    maxPeersPerStream: z.number().int().min(1).max(100_000).default(500),
    /** A WebSocket message from a peer larger than this closes it (SDP offers are ~5 KB). */
    maxMessageBytes: z.number().int().min(1024).max(1 << 20).default(16 << 10),
    /** Messages a second a peer may send the edge (and the burst); over it they are dropped, far over it the peer is closed. */
    messagesPerSecond: z.number().min(1).max(10_000).default(60),
    messageBurst: z.number().int().min(1).max(100_000).default(240),
    /** Bytes the edge's WebSocket to one peer may hold unsent before the peer is closed as too slow. */
    maxBufferedBytes: z.number().int().min(1 << 16).max(1 << 30).default(4 << 20),
    /** Handed to browsers for their peer connections: STUN, and TURN (coturn) for peers that cannot connect directly. */
    iceServers: z.array(IceServer).max(8).default([]),
    /** The core's moveOffEdge: viewers the edge feeds move to super nodes with room (small audiences; costs some continuity). */
    moveOffEdge: z.boolean().default(false),
    /** 'relay': peers use TURN only (privacy, or a test of the relay path). */
    iceTransportPolicy: z.enum(['all', 'relay']).default('all'),
  })
  .optional();
export type P2pSection = NonNullable<z.output<typeof P2pSection>>;

/** Rates in the core's defaults are per slice at 30 a second; a real stream's slices come faster. */
const PER_SLICE_RATES = ['requestRate', 'requestBurst', 'compensationRate', 'compensationBurst'] as const;

/** The core's rules for a stream served with this section (the same numbers at the edge and in browsers). */
export function coreConfig(s: P2pSection): P2pConfig {
  const c: P2pConfig = { ...DEFAULT_CONFIG, fps: s.slicesPerSecond, bitrateKbps: s.bitrateKbps, moveOffEdge: s.moveOffEdge };
  const scale = s.slicesPerSecond / DEFAULT_CONFIG.fps;
  for (const k of PER_SLICE_RATES) c[k] = Math.ceil(DEFAULT_CONFIG[k] * scale);
  return c;
}
