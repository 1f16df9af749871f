import type { Bottleneck } from './Bottleneck.js';

/** One direction of an emulated link. Every field is optional; the default is a perfect wire. */
export interface LinkConfig {
  /** One-way propagation delay, ms (a bench's --rtt is split in half per direction). */
  delayMs?: number;
  /** Standard deviation of extra delay per packet, ms. Jitter never reorders on its own (see reorder). */
  jitterMs?: number;
  /** Loss probability per packet, 0..1 (on top of any queue drops). */
  loss?: number;
  /** Mean loss burst length in packets (Gilbert-Elliott); 1 or unset = independent losses. */
  burst?: number;
  /** Probability a packet is held back by `reorderDelayMs` and overtaken by later ones. */
  reorder?: number;
  reorderDelayMs?: number;
  /** Probability a packet is delivered twice. */
  duplicate?: number;
  /** The bottleneck (rate or trace); unset = no capacity limit. */
  bottleneck?: Bottleneck;
  /** Drop-tail queue limit in front of the bottleneck, bytes and/or packets. */
  queueBytes?: number;
  queuePackets?: number;
  /** Scheduled outages: [start, end) in ms; packets offered or leaving inside one are dropped. */
  outages?: Array<[number, number]>;
}

export interface LinkStats {
  offered: number;
  offeredBytes: number;
  delivered: number;
  deliveredBytes: number;
  droppedQueue: number;
  droppedLoss: number;
  droppedOutage: number;
  droppedBlocked: number;
  duplicated: number;
  reordered: number;
}

export function emptyLinkStats(): LinkStats {
  return {
    offered: 0,
    offeredBytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    droppedQueue: 0,
    droppedLoss: 0,
    droppedOutage: 0,
    droppedBlocked: 0,
    duplicated: 0,
    reordered: 0,
  };
}
