/**
 * One path of a session: a local link (client) or a peer address (server), with its own RTT,
 * loss, MTU and validation state. Until a path is validated (cookie on the first path, a
 * PATH_CHALLENGE answered on later ones), at most 3x the bytes received on it may be sent.
 */
import { MtuProber } from './MtuProber.js';
import { RttEstimator } from './RttEstimator.js';
import type { PathStats } from './api.js';

export class Path {
  state: PathStats['state'] = 'probing';
  validated = false;
  /**
   * A path this end opened itself (its own link, or the TCP fallback): the anti-amplification
   * rule protects third parties from answers to forged addresses, so it binds only paths a peer
   * showed up on, never our own.
   */
  local = false;
  readonly rtt: RttEstimator;
  readonly mtu: MtuProber;
  bytesSent = 0;
  bytesReceived = 0;
  lastReceived = -Infinity;
  lastSent = -Infinity;
  /** Outstanding PATH_CHALLENGE data and when it was last sent. */
  challenge: Uint8Array | undefined;
  challengeSentAt = -Infinity;
  challengeTries = 0;
  /** Challenge data received on this path that must be echoed back on it. */
  pendingResponse: Uint8Array | undefined;
  /** An MTU probe received on this path: answer with its id and the size seen. */
  pendingProbeAck: { id: number; size: number } | undefined;
  /** EWMA of the fraction of data packets lost, sender's view. */
  lossRate = 0;
  packetsSent = 0;
  packetsLost = 0;
  sendRateBps = 0;
  share = 1;

  constructor(readonly key: string, initialMtu: number, maxMtu: number, initialRtt: number) {
    this.rtt = new RttEstimator(initialRtt);
    this.mtu = new MtuProber(initialMtu, maxMtu);
  }

  /** May `bytes` more go out on this path under the 3x anti-amplification rule? */
  maysend(bytes: number): boolean {
    return this.validated || this.local || this.bytesSent + bytes <= 3 * this.bytesReceived;
  }

  onPacketOutcome(lost: boolean): void {
    if (lost) this.packetsLost++;
    this.lossRate = 0.98 * this.lossRate + (lost ? 0.02 : 0);
  }

  stats(): PathStats {
    return {
      path: this.key,
      state: this.state,
      srttMs: this.rtt.smoothed,
      rttVarMs: this.rtt.rttVar,
      mtu: this.mtu.mtu,
      lossRate: this.lossRate,
      sendRateBps: this.sendRateBps,
      share: this.share,
    };
  }
}
