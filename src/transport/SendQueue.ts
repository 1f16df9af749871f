/**
 * Outgoing messages, cut into fragments, waiting by priority. Retransmissions go before fresh
 * fragments of the same priority; lower priority numbers go first. Also holds the drop policy
 * for when the queue would break deadlines (see `shed`).
 */
import type { MessageMeta, StreamOptions } from './api.js';

export interface OutStream {
  id: number;
  options: StreamOptions;
  nextMessageId: number;
  /** Set once video was dropped: later non-keyframes are useless until a keyframe. */
  waitingKeyframe: boolean;
  /** Id of the newest keyframe handed to the queue (push keeps it; undefined before one). */
  lastKeyframeId?: number;
  openAcked: boolean;
}

export interface OutMessage {
  stream: OutStream;
  id: number;
  meta: MessageMeta;
  frags: Uint8Array[];
  /** Index of the next fragment never sent. */
  next: number;
  acked: Uint8Array;
  ackedCount: number;
  done: boolean;
  bytes: number;
  /** Fragments queued for retransmission and not yet resent (allocated on first loss). */
  retx?: Uint8Array;
  /** Resend rounds FEC was sized for, judged once at its first fragment (its fragments share a block). */
  fecRounds?: number;
}

export interface OutFragment {
  msg: OutMessage;
  index: number;
}

interface Level {
  priority: number;
  fresh: OutMessage[];
  freshHead: number;
  retx: OutFragment[];
  retxHead: number;
  bytes: number;
}

export type DropFn = (m: OutMessage, reason: 'deadline' | 'queue') => void;

export class SendQueue {
  private levels: Level[] = [];
  bytes = 0;

  private level(priority: number): Level {
    for (const l of this.levels) if (l.priority === priority) return l;
    const l: Level = { priority, fresh: [], freshHead: 0, retx: [], retxHead: 0, bytes: 0 };
    this.levels.push(l);
    this.levels.sort((a, b) => a.priority - b.priority);
    return l;
  }

  push(m: OutMessage): void {
    if (m.meta.keyframe) m.stream.lastKeyframeId = m.id;
    const l = this.level(m.stream.options.priority);
    l.fresh.push(m);
    l.bytes += m.bytes;
    this.bytes += m.bytes;
  }

  pushRetransmit(f: OutFragment): void {
    const l = this.level(f.msg.stream.options.priority);
    l.retx.push(f);
    const n = f.msg.frags[f.index]!.length;
    l.bytes += n;
    this.bytes += n;
  }

  get empty(): boolean {
    return this.bytes <= 0 && this.levels.every((l) => l.freshHead >= l.fresh.length && l.retxHead >= l.retx.length);
  }

  /** Size of the fragment `next` would return (to check the pacer), or 0. */
  peekSize(now: number, drop: DropFn): number {
    const f = this.peek(now, drop);
    return f ? f.msg.frags[f.index]!.length : 0;
  }

  private peek(now: number, drop: DropFn): OutFragment | undefined {
    for (const l of this.levels) {
      while (l.retxHead < l.retx.length) {
        const f = l.retx[l.retxHead]!;
        if (!f.msg.done && !f.msg.acked[f.index] && !this.expired(f.msg, now, drop)) return f;
        l.retxHead++;
        this.sub(l, f.msg.frags[f.index]!.length);
      }
      while (l.freshHead < l.fresh.length) {
        const m = l.fresh[l.freshHead]!;
        if (!m.done && m.next < m.frags.length && !this.expired(m, now, drop) && (m.next > 0 || this.admits(now, m, drop))) return { msg: m, index: m.next };
        l.freshHead++;
        this.compact(l);
      }
    }
    return undefined;
  }

  /** Removes and returns the next fragment to send. */
  next(now: number, drop: DropFn): OutFragment | undefined {
    const f = this.peek(now, drop);
    if (!f) return undefined;
    const l = this.level(f.msg.stream.options.priority);
    const len = f.msg.frags[f.index]!.length;
    if (l.retxHead < l.retx.length && l.retx[l.retxHead] === f) l.retxHead++;
    else f.msg.next++;
    this.sub(l, len);
    if (l.retxHead > 64 && l.retxHead * 2 > l.retx.length) {
      l.retx = l.retx.slice(l.retxHead);
      l.retxHead = 0;
    }
    return f;
  }

  private sub(l: Level, n: number): void {
    l.bytes -= n;
    this.bytes -= n;
  }

  private compact(l: Level): void {
    if (l.freshHead > 64 && l.freshHead * 2 > l.fresh.length) {
      l.fresh = l.fresh.slice(l.freshHead);
      l.freshHead = 0;
    }
  }

  private expired(m: OutMessage, now: number, drop: DropFn): boolean {
    if (m.meta.deadline === undefined || m.stream.options.reliability !== 'deadline') return false;
    if (now < m.meta.deadline) return false;
    this.giveUp(m, drop, 'deadline');
    return true;
  }

  /**
   * Asked once per message, at its first fragment: false means no path can deliver it by its
   * deadline, and it is given up unsent (giveUp: its dependents go too). Unset, everything is sent.
   */
  gate: ((now: number, m: OutMessage) => boolean) | undefined;

  private admits(now: number, m: OutMessage, drop: DropFn): boolean {
    if (!this.gate || m.stream.options.reliability !== 'deadline' || this.gate(now, m)) return true;
    this.skipped++;
    this.giveUp(m, drop, 'deadline');
    return false;
  }

  /** Messages the gate turned away unsent. */
  skipped = 0;

  /**
   * Gives a message up (deadline passed, no path can make it, or its last resend cannot): its
   * unsent bytes leave the queue and the application hears of it. A reference video frame
   * takes with it the stream's queued frames after it up to the next keyframe (they cannot be
   * decoded without it, so their bytes would be wasted); with no keyframe queued or sent after
   * it, the stream waits for the next one (Session.send refuses the frames before it). The
   * keyframe is kept. A keyframe already sent after the frame ends its dependents too: a resend
   * of the GOP before it given up as a link died took the next GOP with it (its frames still
   * queued were dropped and the stream waited two seconds for another keyframe).
   */
  giveUp(m: OutMessage, drop: DropFn, reason: 'deadline' | 'queue'): void {
    if (m.done) return;
    this.discard(m);
    drop(m, reason);
    if (m.stream.options.class !== 'video' || m.meta.reference === false) return;
    this.dropDependents(m.stream, m.id, drop);
  }

  /**
   * Reference frame `id` of video stream `s` will not be decoded (given up here, or reported
   * lost by the receiver): the stream's queued frames after it up to the next keyframe go, and
   * with no keyframe queued or sent after it the stream waits for the next one.
   */
  dropDependents(s: OutStream, id: number, drop: DropFn): void {
    const key = s.lastKeyframeId ?? -1;
    const l = this.level(s.options.priority);
    for (let i = l.freshHead; i < l.fresh.length; i++) {
      const x = l.fresh[i]!;
      if (x.stream !== s || x.id <= id) continue;
      if (x.meta.keyframe || (key > id && x.id > key)) return;
      if (x.done) continue;
      this.discard(x);
      this.dependentsDropped++;
      drop(x, 'queue');
    }
    if (key <= id) this.waitForKeyframe(s);
  }

  /**
   * Called when a video stream starts waiting for a keyframe (its frames until then are
   * refused): the application may ask its encoder for one now instead of waiting for the GOP
   * to end, as a WebRTC sender does on a PLI.
   */
  onKeyframeWanted: ((s: OutStream) => void) | undefined;

  private waitForKeyframe(s: OutStream): void {
    if (s.waitingKeyframe) return;
    s.waitingKeyframe = true;
    this.onKeyframeWanted?.(s);
  }

  /** Frames given up because a frame they depend on was. */
  dependentsDropped = 0;

  /** Removes a message's unsent bytes from the byte counts and marks it done. */
  discard(m: OutMessage): void {
    if (m.done) return;
    m.done = true;
    let unsent = 0;
    for (let i = m.next; i < m.frags.length; i++) unsent += m.frags[i]!.length;
    const l = this.level(m.stream.options.priority);
    this.sub(l, unsent);
    m.next = m.frags.length;
  }

  /**
   * If, draining at `rateBps`, a queued deadline message would arrive (one-way `owdMs` later)
   * after its deadline, drop in this order until it fits: non-reference video; video up to the
   * newest queued keyframe (all video if none, and the stream then waits for a keyframe);
   * audio, oldest first. Control is never dropped. Audio is dropped only for audio that is
   * late (video behind it cannot make audio late, since audio goes first).
   */
  shed(now: number, rateBps: number, owdMs: number, drop: DropFn): void {
    for (let stage = 0; stage < 3; stage++) {
      const cls = stage === 2 ? 'audio' : 'video';
      if (!this.late(now, rateBps, owdMs, cls)) continue;
      const victims = this.collect(stage);
      for (const m of victims) {
        if (stage === 2 && !this.late(now, rateBps, owdMs, cls)) return;
        this.discard(m);
        // With no keyframe queued behind it, the stream waits for the next one. (Set also when
        // one was queued, it refused every frame after that keyframe: a whole GOP lost.)
        if (stage === 1 && !m.meta.keyframe && !this.keyframeAfter(m)) this.waitForKeyframe(m.stream);
        drop(m, 'queue');
      }
    }
  }

  /** Would a queued deadline message of class `cls` miss its deadline? */
  private late(now: number, rateBps: number, owdMs: number, cls: 'audio' | 'video'): boolean {
    let ahead = 0;
    for (const l of this.levels) {
      for (let i = l.retxHead; i < l.retx.length; i++) ahead += l.retx[i]!.msg.frags[l.retx[i]!.index]!.length;
      for (let i = l.freshHead; i < l.fresh.length; i++) {
        const m = l.fresh[i]!;
        if (m.done) continue;
        // Summed once at the push (m.bytes) for a message none of which is sent: this runs on
        // every enqueue over the whole queue, and fragment by fragment it was a server's
        // hottest loop once its viewers' queues grew.
        if (m.next === 0) ahead += m.bytes + 40 * m.frags.length;
        else for (let j = m.next; j < m.frags.length; j++) ahead += m.frags[j]!.length + 40;
        if (m.meta.deadline !== undefined && m.stream.options.reliability === 'deadline' && m.stream.options.class === cls) {
          if (now + (ahead * 8000) / rateBps + owdMs > m.meta.deadline) return true;
        }
      }
    }
    return false;
  }

  /** Is a keyframe of m's stream queued after m? */
  private keyframeAfter(m: OutMessage): boolean {
    const l = this.level(m.stream.options.priority);
    for (let i = l.freshHead; i < l.fresh.length; i++) {
      const x = l.fresh[i]!;
      if (x.stream === m.stream && x.id > m.id && x.meta.keyframe && !x.done) return true;
    }
    return false;
  }

  private collect(stage: number): OutMessage[] {
    const out: OutMessage[] = [];
    for (const l of this.levels) {
      const live = l.fresh.slice(l.freshHead).filter((m) => !m.done && m.next === 0);
      if (stage === 0) out.push(...live.filter((m) => m.stream.options.class === 'video' && m.meta.reference === false));
      if (stage === 1) {
        const video = live.filter((m) => m.stream.options.class === 'video');
        let lastKey = -1;
        video.forEach((m, i) => (m.meta.keyframe ? (lastKey = i) : 0));
        out.push(...video.filter((m, i) => (lastKey < 0 ? true : i < lastKey && !m.meta.keyframe)));
      }
      if (stage === 2) out.push(...live.filter((m) => m.stream.options.class === 'audio'));
    }
    return out;
  }
}
