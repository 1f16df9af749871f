/**
 * The congestion controller's narrow interface (after quic-go's SendAlgorithm): the session
 * reports sends, acks, losses and the receiver's feedback; the controller answers how much may
 * be in flight, how fast to pace, and what media bitrate the application should produce.
 * Every method takes `now`; none reads a clock.
 */
export interface AckSample {
  ackedBytes: number;
  /** RTT sample of the newest acked packet, ms (NaN if none this ack). */
  rttMs: number;
  minRttMs: number;
  srttMs: number;
  /** Delivery rate measured over the acked packet's flight (BBR-style), bit/s, NaN if unknown. */
  deliveryRateBps: number;
  /** True when the sender had nothing to send for part of that flight (the rate is a floor). */
  appLimited: boolean;
  /** Receiver's clock minus sender's clock at send, for the newest acked packet, ms (an offset + the one-way delay). */
  oneWayDelayMs: number;
}

export interface SendAlgorithm {
  readonly name: string;
  onPacketSent(now: number, bytes: number, bytesInFlight: number): void;
  onAck(now: number, s: AckSample): void;
  onLoss(now: number, lostBytes: number): void;
  /** The receiver's FEEDBACK: wire loss fraction and receive rate over its interval. */
  onFeedback(now: number, lossFraction: number, recvRateBps: number): void;
  canSend(bytesInFlight: number): boolean;
  pacingRateBps(): number;
  targetBitrateBps(): number;
  /** The best delivery rate measured recently, bit/s (0 when unknown). */
  deliveryRateBps(): number;
  /** The sender has more to send than the target allows: look for more capacity, quickly. */
  probe?(): void;
}
