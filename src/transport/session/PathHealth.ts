/**
 * Path health, when there is more than one path: which paths are up, down or being re-admitted.
 * A path with packets in flight and no ack for longer than its silence limit is taken out of
 * the schedule and its packets in flight are queued again at once (for the other paths). A
 * down path is probed with PINGs kept apart from the packets in flight; it is re-admitted
 * after answering several probes and a hold that doubles with each outage (no flapping). A
 * path re-admitted gets full standing ('active') after two seconds without going down again.
 * Validation of new paths (PATH_CHALLENGE / PATH_RESPONSE) ends here too.
 */
import { forEachAckRange, type AckFrame } from '../../wire/ack.js';
import { macEqual } from '../crypto/keys.js';
import type { Path } from '../Path.js';
import type { LossRecovery } from './LossRecovery.js';
import type { SessionState } from './SessionState.js';

/** A down path is probed this often (at least; more with a long RTT). */
const PROBE_INTERVAL = 200;
/** Answered probes (and a hold that doubles with each outage) before a down path carries media again. */
const PROBES_TO_READMIT = 3;
const MAX_HOLD = 4000;
/** Acks of a take-down's stranded packets count as evidence of a dip this long after it, ms. */
const STRANDED_EVIDENCE_MS = 3000;
/** A bonded link that sent nothing for this long gets a PING. */
const IDLE_PING = 500;

export class PathHealth {
  /** When checkPaths last ran (a path that came due before then has been looked at). */
  private checkedAt = -Infinity;
  /** When the next resend of a packet stuck on a quiet path falls due (LossRecovery.hedge). */
  private hedgeAt = Infinity;

  constructor(private readonly s: SessionState, private readonly loss: LossRecovery) {}

  /** A bonded sender: its acks come back on whichever path the receiver picks. */
  private get bondedSender(): boolean {
    return this.s.role === 'client' && this.s.bond !== 'single';
  }

  /** Probes of down paths that this ACK covers: evidence the path carries packets again. */
  onProbeAcks(now: number, f: AckFrame): void {
    for (const path of this.s.paths) {
      if (path.stranded.size) this.strandedAcks(now, path, f);
      if (!path.probes.size) continue;
      for (const [pn, sentAt] of path.probes) {
        let covered = false;
        forEachAckRange(f, (lo, hi) => {
          if (pn >= lo && pn <= hi) covered = true;
        });
        if (!covered) continue;
        path.probes.delete(pn);
        path.rtt.update(now - sentAt, 0);
        path.lastAckAt = now;
        path.probeOk++;
      }
      if (path.state === 'down' && now >= path.holdUntil && (path.probeOk >= PROBES_TO_READMIT || (path.dipped && path.probeOk >= 1))) this.readmit(now, path);
    }
  }

  /**
   * Packets a take-down gave up for lost that the peer acks after all: the path was in a dip
   * (a cellular link's queue held them for a second), not dead. Its take-down then does not
   * count towards the hold (which doubles with each outage within 30 s, to 4 s): on the
   * traces a 300 ms dip took a link down as it recovered and held it out 4 s while it
   * carried 0.8-1.3 Mbit/s, and the media waiting for it was shed. One answered probe then
   * re-admits it. A dead link acks nothing it was sent after dying, so its hold grows as before.
   */
  private strandedAcks(now: number, path: Path, f: AckFrame): void {
    let hit = false;
    forEachAckRange(f, (lo, hi) => {
      if (hit) return;
      for (const pn of path.stranded) if (pn >= lo && pn <= hi) hit = true;
    });
    if (now - path.downAt > STRANDED_EVIDENCE_MS) path.stranded.clear();
    if (!hit) return;
    path.stranded.clear();
    if (path.state !== 'down' || path.dipped) return;
    path.dipped = true;
    path.downCount = Math.max(0, path.downCount - 1);
    path.holdUntil = now;
  }

  /** The peer echoed a challenge: that path is validated and may carry media. */
  onPathResponse(now: number, data: Uint8Array): void {
    for (const p of this.s.paths) {
      if (p.challenge && macEqual(p.challenge, data)) {
        p.challenge = undefined;
        if (!p.validated) {
          p.validated = true;
          p.state = 'active';
          p.mtu.restart(now);
          this.s.emit({ type: 'path-up', path: p.key });
        }
      }
    }
  }

  /**
   * A path that answered its probes carries media again. It keeps its controller's estimates
   * (a cellular outage does not change what the link carries after it), but for two seconds
   * ('probing') it counts for half its target and paces at half, so a link that comes back
   * worse than it left does not take a full share at once.
   */
  private readmit(now: number, path: Path): void {
    path.state = 'probing';
    // Probes are not packets in flight (onPingSent): the silence clock starts again with the first media.
    path.outstandingSince = -1;
    path.probes.clear();
    path.probeOk = 0;
    path.dipped = false;
    path.stranded.clear();
    path.largestAckedSeq = path.nextSeq - 1;
    path.readmittedAt = now;
    this.s.emit({ type: 'path-up', path: path.key });
  }

  /** handleTimeout's part: silences, promotions, probes and idle PINGs due. */
  onTimeout(now: number): void {
    const s = this.s;
    if (s.paths.length > 1) this.checkPaths(now);
    for (const p of s.paths) p.rollWindow(now);
  }

  /**
   * Receive-side silence (handleTimeout, after the rest): a path that brought nothing for long
   * goes down. A bonded sender hears its acks on whichever path the receiver picks, so hearing
   * nothing on a link says nothing; its health comes from acks of what it sent (checkPaths).
   */
  checkReceiveSilence(now: number): void {
    const s = this.s;
    for (const p of s.paths) {
      if (this.bondedSender) break;
      if (p.validated && p.state !== 'down' && s.paths.length > 1 && now - p.lastReceived > Math.max(3 * p.rtt.rto(), s.o.keepaliveMs * 2)) {
        this.takeDown(now, p);
      }
    }
  }

  private checkPaths(now: number): void {
    const s = this.s;
    this.checkedAt = now;
    this.hedgeAt = Infinity;
    let usable = 0;
    for (const p of s.paths) if (p.usable) usable++;
    for (const p of s.paths) {
      if (p.state === 'probing' && p.validated && now >= p.readmittedAt + 2000) p.state = 'active';
      if (!p.usable || usable < 2) continue;
      // Silence counts from the oldest packet out (Path.silentAt).
      if (now >= p.silentAt()) {
        this.takeDown(now, p);
        usable--;
      } else if (p.stalled(now)) {
        // Stalled or dead: its packets that the take-down would come too late for go on the
        // others, each at the last moment that still makes its deadline.
        this.hedgeAt = Math.min(this.hedgeAt, this.loss.hedge(now, p));
      }
    }
    if (this.bondedSender) {
      // Down paths get probes; idle usable ones a PING now and then, which keeps their RTT
      // fresh for the scheduler and shows early when one goes silent.
      for (const p of s.paths) {
        if (!p.validated || now < p.nextProbeAt) continue;
        if (p.state === 'down' || now >= p.lastSent + IDLE_PING) {
          p.nextProbeAt = now + Math.max(PROBE_INTERVAL, p.state === 'down' ? p.rtt.smoothed : 0);
          p.probeDue = true;
        }
      }
    }
  }

  private takeDown(now: number, path: Path): void {
    const s = this.s;
    path.state = 'down';
    path.downAt = now;
    path.downCount = now - path.readmittedAt < 30_000 ? path.downCount + 1 : 1;
    path.holdUntil = now + Math.min(MAX_HOLD, 500 * 2 ** (path.downCount - 1));
    path.probeOk = 0;
    path.nextProbeAt = now;
    s.counters.pathsDowned++;
    path.dipped = false;
    path.stranded.clear();
    this.loss.strand(now, path, path.stranded);
    path.bytesInFlight = 0;
    path.clearSchedQueue(now);
    s.copies.dropPath(path);
    s.emit({ type: 'path-down', path: path.key });
  }

  /** A PING numbered `pn` just left on `p`: on a down path it is a probe, not a packet in flight. */
  onPingSent(now: number, p: Path, pn: number): void {
    if (p.state !== 'down') return;
    this.loss.forget(pn, p);
    for (const [old, at] of p.probes) if (now - at > 3000) p.probes.delete(old);
    if (p.probes.size < 64) p.probes.set(pn, now);
  }

  /** When checkPaths has something to do: a silence, a probe or idle PING due, a promotion. */
  nextCheck(): number {
    const s = this.s;
    let t = this.hedgeAt > this.checkedAt ? this.hedgeAt : Infinity;
    const bonded = this.bondedSender;
    let usable = 0;
    for (const p of s.paths) if (p.usable) usable++;
    for (const p of s.paths) {
      if (p.usable && usable >= 2) t = Math.min(t, p.silentAt(), p.dueAt() > this.checkedAt ? p.dueAt() : Infinity);
      if (p.state === 'probing' && p.validated) t = Math.min(t, p.readmittedAt + 2000);
      if (bonded && p.validated) t = Math.min(t, Math.max(p.nextProbeAt, p.state === 'down' ? -Infinity : p.lastSent + IDLE_PING));
    }
    return t;
  }

  /** Packets arriving over several paths at once come out of order by the paths' delay difference. */
  receivingOnSeveralPaths(now: number): boolean {
    let n = 0;
    for (const p of this.s.paths) if (now - p.lastReceived < 1000 && ++n > 1) return true;
    return false;
  }
}
