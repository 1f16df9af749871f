/**
 * What each soak publisher sent, as runs of consecutive frame ids (one run per publisher
 * session; a session starts at a keyframe, and ids passed while the publisher was down were
 * never sent), and a viewer's account of what it missed.
 *
 * A viewer owes nothing before its first frame. In each publisher session it saw, it owes
 * every id from the session's start (or its own first frame, if later) to the highest id it
 * got: the tail of a session that ended in a restart is excused (it may have died in the killed
 * connection), and so is the tail of the session still running. Arrival order does not matter
 * (transport viewers get audio and video on separate streams), and memory is per session.
 */
export class SentLedger {
  /** [first, last] ids of each session, in order; the last one may still be growing. */
  private readonly runs: Array<[number, number]> = [];

  startSession(firstId: number): void {
    this.runs.push([firstId, firstId - 1]);
  }

  sent(id: number): void {
    const r = this.runs[this.runs.length - 1];
    if (r && id > r[1]) r[1] = id;
  }

  get sessions(): number {
    return this.runs.length;
  }

  /** Index of the session holding id, or -1 (not sent). */
  sessionOf(id: number): number {
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const [a, b] = this.runs[i]!;
      if (id >= a && id <= b) return i;
      if (id > b) return -1;
    }
    return -1;
  }

  startOf(session: number): number {
    return this.runs[session]![0];
  }
}

interface SessionSeen {
  lo: number;
  max: number;
  count: number;
  /**
   * Transport viewers: per stream, the message ids seen [lowest, highest, how many, and, in the
   * first session counted, the highest id the stream delivered before the count began (-1:
   * none; later sessions MAX_SAFE_INTEGER: ids between two publisher sessions are not credited)].
   */
  streams?: Map<number, [number, number, number, number]>;
}

/** Where a transport viewer's frame came from: its stream and the sender's message id on it. */
export interface Carrier {
  streamId: number;
  messageId: number;
}

/**
 * One viewer connection's count of frames received and lost, by the ledger of its stream.
 * Counting starts `settleMs` after the connection opens: a join begins with the cached GOP,
 * which a transport viewer's deadline rightly thins out, and that is not a keeping-up loss.
 */
export class ViewerAccount {
  received = 0;
  private first: number | undefined;
  private readonly seen = new Map<number, SessionSeen>();
  private readonly from: number;
  /** Transport viewers: per stream, the highest message id delivered before the count began. */
  private readonly beforeCount = new Map<number, number>();
  /** Transport viewers: streams already seen since the count began. */
  private readonly counted = new Set<number>();

  constructor(private readonly ledger: SentLedger, settleMs = 3000) {
    this.from = performance.now() + settleMs;
  }

  onFrame(id: number, via?: Carrier): void {
    if (performance.now() < this.from) {
      if (via && via.messageId > (this.beforeCount.get(via.streamId) ?? -1)) this.beforeCount.set(via.streamId, via.messageId);
      return;
    }
    this.received++;
    const s = this.ledger.sessionOf(id);
    if (s < 0) return;
    this.first ??= id;
    let e = this.seen.get(s);
    if (!e) {
      e = { lo: Math.max(this.first, this.ledger.startOf(s)), max: -1, count: 0 };
      this.seen.set(s, e);
    }
    if (id < e.lo) return;
    e.count++;
    if (id > e.max) e.max = id;
    if (!via) return;
    const st = (e.streams ??= new Map()).get(via.streamId);
    if (!st) {
      // The first counted message of a stream: the ids below it since the count began were given up.
      const before = this.counted.has(via.streamId) ? Number.MAX_SAFE_INTEGER : this.beforeCount.get(via.streamId) ?? -1;
      this.counted.add(via.streamId);
      e.streams.set(via.streamId, [via.messageId, via.messageId, 1, before]);
    }
    else {
      st[0] = Math.min(st[0], via.messageId);
      st[1] = Math.max(st[1], via.messageId);
      st[2]++;
    }
  }

  /** Frames this viewer should have had and did not get. */
  get lost(): number {
    let n = 0;
    for (const e of this.seen.values()) n += missing(e);
    return n;
  }

  /**
   * Of `lost`, the frames a transport viewer's sender gave up under its deadline rules (shed
   * as predicted late, refused while its video waited for a keyframe, or expired): messages
   * its media streams never delivered, counted as gaps in the message ids between the ones
   * delivered in the same publisher session, and, in the first session counted, before a
   * stream's first counted message back to the last it delivered before the count began
   * (message ids start at 0 when the stream opens, so a join whose cached GOP the deadline
   * thinned is seen as such when a slow connect under load pushed it past settleMs); at most
   * that session's missing frames. A frame the server never
   * handed to the transport has no message id, so no gap: it stays lost. 0 for FLV and RTMP
   * viewers, whose server has no such rule.
   */
  get givenUp(): number {
    let n = 0;
    for (const e of this.seen.values()) {
      if (!e.streams) continue;
      let gaps = 0;
      for (const [lo, hi, count, before] of e.streams.values()) gaps += hi - lo + 1 - count + Math.max(0, lo - before - 1);
      n += Math.min(missing(e), gaps);
    }
    return n;
  }
}

function missing(e: SessionSeen): number {
  return e.max >= e.lo ? Math.max(0, e.max - e.lo + 1 - e.count) : 0;
}
