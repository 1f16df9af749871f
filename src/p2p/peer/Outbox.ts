/**
 * What every part of a peer shares with the Peer that owns it: one queue of messages out (the
 * order of sends is part of the behaviour: a shell sends them in that order) and a way to ask
 * for a poll now. Plus who the peer is, which the parts only read.
 */
import type { AnyMsg } from '../messages.js';
import type { Bad } from './PeerStats.js';

export interface Outbox {
  send(to: number, msg: AnyMsg): void;
  /** Something arrived that the scheduler or the player must look at: poll at `now`. */
  wake(now: number): void;
}

export interface Self {
  /** The id the edge gave this peer (0 until welcomed). */
  readonly id: number;
  readonly welcomed: boolean;
}

/** Drops a neighbour for cause (never a neighbour again) and reports it to the edge. */
export type DropFn = (id: number, reason: Bad) => void;
