/**
 * Repair and skip decisions for a bond whose scheduler pools its paths (earliest-arrival):
 * the one-way delay a packet sent now would see is the scheduler's earliest delivery over all
 * media paths, not one path's RTT, so a loss on a queued link is resent on an idle one, a
 * frame is skipped only when no path can deliver it, and FEC counts the resend rounds the
 * pool allows. Single-path sessions and the old rule keep RepairPlanner's own figures.
 */
import { DATA_FEC_OVERHEAD } from '../../wire/data.js';
import { PROTECTED_HEADER_LEN } from '../../wire/header.js';
import { TAG_LEN } from '../crypto/PacketProtection.js';
import type { Path } from '../Path.js';
import type { OutMessage } from '../SendQueue.js';
import type { SessionState } from './SessionState.js';

/** Wire bytes per fragment beyond its payload (header, tag, DATA fields). */
const PER_PACKET = DATA_FEC_OVERHEAD + PROTECTED_HEADER_LEN + TAG_LEN;
/** A full-size packet, for one-way estimates of a resend. */
const FULL_PACKET = 1300;
/** The receiver's reorder wait and the ACK's own delay, ms. */
const DETECT_MS = 20;

export class PooledPlan {
  private readonly scratch: Path[] = [];

  constructor(private readonly s: SessionState) {}

  /**
   * Does this session pool its paths now (aggregate or auto, earliest-arrival, more than one
   * path)? Redundant mode sends everything on every path, so the weakest path sets its pace;
   * pooled windows cost its 3%-loss figure 0.2 of its video.
   */
  get active(): boolean {
    const s = this.s;
    return (s.bond === 'aggregate' || s.bond === 'auto') && s.paths.length > 1 && s.sched.name === 'earliest-arrival';
  }

  private paths(): readonly Path[] {
    const out = this.scratch;
    out.length = 0;
    for (const p of this.s.paths) if (p.usable) out.push(p);
    return out;
  }

  /** The same, over the pool less `except` (a resend of a packet stuck on it). */
  deliveredByOthers(now: number, bytes: number, except: Path): number {
    const out = this.scratch;
    out.length = 0;
    for (const p of this.s.paths) if (p.usable && p !== except) out.push(p);
    return this.s.sched.earliestDelivery(now, out, bytes);
  }

  /** When `bytes` more would have arrived at the earliest, sent now over the pool. */
  deliveredBy(now: number, bytes: number): number {
    return this.s.sched.earliestDelivery(now, this.paths(), bytes);
  }

  /**
   * One resend round, ms: the loss shows when later packets of its path are acked (about half
   * the slowest path's RTT after it would have arrived, plus the reorder wait), and the resend
   * then takes the path that delivers it first.
   */
  roundMs(now: number): number {
    let srtt = 0;
    for (const p of this.paths()) srtt = Math.max(srtt, p.rtt.smoothed);
    return srtt / 2 + DETECT_MS + (this.deliveredBy(now, FULL_PACKET) - now);
  }

  /** Can a resend of `bytes` sent now still arrive by `deadline`? */
  resendFits(now: number, bytes: number, deadline: number): boolean {
    return this.deliveredBy(now, bytes) < deadline;
  }

  /** Could a resend sent now, if lost, be resent once more before `deadline`? */
  anotherRoundFits(now: number, deadline: number): boolean {
    return this.deliveredBy(now, FULL_PACKET) + this.roundMs(now) <= deadline;
  }

  /**
   * Resend rounds FEC may count on for a message whose first fragment leaves now (RepairPlanner.rounds'
   * contract): the rounds after its pooled arrival, the last counted as the copies it gets.
   * What waits in the send queue is behind the message, not ahead of it, and a resend goes
   * ahead of that queue's fresh fragments: counted as ahead, a backlog (a link just died)
   * read as "no resend fits", every block got its most repairs, and in one such backlog half
   * of what the two links left carried for a second was FEC, which deepened the backlog.
   */
  rounds(now: number, m: OutMessage): number {
    const dl = m.meta.deadline;
    if (dl === undefined) return 0;
    const first = this.deliveredBy(now, m.bytes);
    const rounds = Math.max(0, Math.floor((dl - first) / this.roundMs(now)));
    return rounds > 0 ? rounds - 1 + this.s.repair.resendCopies() : 0;
  }

  /**
   * SendQueue's gate: a deadline message no path can deliver in time is not sent. Keyframes
   * always go (the stream waits for them after a give-up), as does everything when not pooled.
   */
  readonly worthSending = (now: number, m: OutMessage): boolean => {
    const dl = m.meta.deadline;
    if (!this.active || dl === undefined || m.meta.keyframe || m.stream.options.class === 'control') return true;
    let bytes = 0;
    for (let i = m.next; i < m.frags.length; i++) bytes += m.frags[i]!.length + PER_PACKET;
    return this.deliveredBy(now, bytes) <= dl;
  };
}
