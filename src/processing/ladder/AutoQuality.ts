import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import type { Publisher } from '../../server/Publisher.js';
import { Stream } from '../../server/Stream.js';
import { QualityPicker, type PickerOptions } from './QualityPicker.js';

export interface Rendition {
  name: string;
  stream: Stream;
  /** Video kbit/s from the ladder's config; refined by what the stream carries. */
  kbps: number;
}

/** Audio and container overhead on top of a rendition's video rate, bit/s. */
const OVERHEAD_BPS = 128_000;
const SAMPLE_MS = 250;
/**
 * What may wait in the viewer's kernel send buffer, in ms of the current rendition: bytes
 * there drain at the link's rate whatever is decided later, so after a cut they stand between
 * the viewer and the new rendition. Twice the kernel's poll interval (200 ms) keeps a fast link
 * fed between two looks; the rest waits in the server, where the switch's keyframe replaces it.
 */
const NETWORK_CAP_MS = 400;
/** A pending switch completes after this long even if the current rendition stopped, ms. */
const SWITCH_WAIT_MS = 300;

let nextId = 1;

export interface SwitchRecord {
  at: number;
  from: string;
  to: string;
  /** dts of the keyframe the viewer moved on. */
  dts: number;
  /** When the picker asked for this rendition (the switch then waits for a keyframe), ms. */
  decidedAt: number;
  /** Bytes queued for the viewer ahead of the new rendition's header (what it must drain first). */
  aheadBytes: number;
}

/**
 * One `?quality=auto` viewer's own stream: a Stream outside the registry, fed with the frames
 * of one rendition of a ladder, moving to another at a keyframe of that one when the picker
 * says so. Renditions come from one ffmpeg with aligned keyframes and the same timestamps, so
 * the viewer's timeline runs on across a switch, with no gap and no repeated picture; the new
 * rendition's sequence header (and an onMetaData naming it, which the player page shows) goes
 * just before its keyframe.
 *
 * The FLV viewer subscribes to `out` as to any stream; this closes when that viewer leaves.
 */
export class AutoQuality implements Publisher {
  readonly id = `auto-${nextId++}`;
  readonly protocol = 'auto-quality';
  readonly remoteAddress = 'server';
  readonly out: Stream;
  readonly switches: SwitchRecord[] = [];
  private readonly picker: QualityPicker;
  /** The viewer at the last sample (for the API and diagnostics). */
  lastSample: { pendingBytes: number; sentBytes: number; capacityBps: number | undefined } | undefined;
  private current: number;
  /** The rendition to move to at its next keyframe (undefined: none pending). */
  private target: number | undefined;
  /** When the picker first asked for `target`. */
  private targetSince = 0;
  /** A switch waiting for the current rendition to reach the target's keyframe (see onFrame). */
  private pending: { to: number; dts: number; held: MediaFrame[]; heldCurrent: MediaFrame[]; targetKey: boolean; currentReached: boolean; since: number } | undefined;
  private lastVideoDts = -Infinity;
  private lastAudioDts = -Infinity;
  private readonly detach: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** The viewer gives exact samples after each look at its network (see Subscriber.followDrain). */
  private exact = false;

  constructor(
    private readonly renditions: readonly Rendition[],
    start: number,
    pickerOptions: Partial<PickerOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    const first = renditions[0]!.stream;
    this.out = new Stream(first.app, first.key);
    this.current = start;
    this.picker = new QualityPicker(renditions.map((r) => r.kbps * 1000 + OVERHEAD_BPS), start, pickerOptions);
    this.out.publish(this);
    const r = renditions[start]!.stream;
    this.sendConfigs(start, r.videoConfig, r.audioConfig);
    for (const f of r.gopFrames()) this.forward(f);
    renditions.forEach((rend, i) => {
      const onFrame = (f: MediaFrame) => this.onFrame(i, f);
      const onConfig = () => i === this.current && this.sendConfigs(i, rend.stream.videoConfig, rend.stream.audioConfig);
      const onClose = () => this.close();
      rend.stream.on('frame', onFrame);
      rend.stream.on('config', onConfig);
      rend.stream.on('close', onClose);
      this.detach.push(() => {
        rend.stream.off('frame', onFrame);
        rend.stream.off('config', onConfig);
        rend.stream.off('close', onClose);
      });
    });
    this.out.on('subscribe', (sub) => {
      if (this.out.subscribers.size !== 1) return;
      this.exact = sub.followDrain((at, sent, pending, network) => this.decide(this.picker.sample(at, sent, pending, network), sent, pending));
      this.capNetwork();
    });
    this.out.on('unsubscribe', () => {
      if (this.out.subscribers.size === 0) this.close();
    });
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Name of the rendition the viewer is on. */
  get rendition(): string {
    return this.renditions[this.current]!.name;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const d of this.detach) d();
    this.out.close('rendition switcher closed');
  }

  private sample(): void {
    const viewer = [...this.out.subscribers.values()][0];
    if (!viewer) return;
    this.renditions.forEach((r, i) => {
      const kbps = r.stream.rates().kbps;
      if (kbps > 0) this.picker.setRate(i, this.rateBps(i, kbps));
    });
    if (this.exact) return; // the viewer's own samples drive the picker
    const pending = viewer.pendingBytes();
    this.decide(this.picker.sample(this.now(), viewer.bytesSent, pending), viewer.bytesSent, pending);
  }

  /** A rendition's rate on the wire: the more of its configured and measured rates, and audio. */
  private rateBps(i: number, measuredKbps = 0): number {
    return Math.max(this.renditions[i]!.kbps, measuredKbps) * 1000 + OVERHEAD_BPS / 2;
  }

  /** Bounds the viewer's kernel queue to NETWORK_CAP_MS of the rendition it is on. */
  private capNetwork(): void {
    const viewer = [...this.out.subscribers.values()][0];
    viewer?.setNetworkCap(Math.round((this.rateBps(this.current, this.renditions[this.current]!.stream.rates().kbps) / 8) * (NETWORK_CAP_MS / 1000)));
  }

  private decide(want: number, sentBytes: number, pendingBytes: number): void {
    this.lastSample = { pendingBytes, sentBytes, capacityBps: this.picker.capacityBps };
    const target = want === this.current ? undefined : want;
    if (target !== undefined && target !== this.target) this.targetSince = this.now();
    this.target = target;
    // The picker changed its mind before the switch point: the current rendition's held frames go out.
    const p = this.pending;
    if (p && p.to !== this.target) {
      this.pending = undefined;
      for (const h of p.heldCurrent) this.forward(h);
    }
  }

  /**
   * The renditions' encoders run side by side in one ffmpeg, so one rendition's frames arrive a
   * little before another's. The switch point is the first keyframe instant X past what the
   * viewer has, whichever rendition shows it first: from then on the current rendition's
   * frames before X go out and those from X are held, the target's from X are held, and once
   * the target's keyframe at X is there (and the current one reached X) the viewer moves, so
   * every dts goes out once, in order. If the target's keyframe does not come within
   * SWITCH_WAIT_MS the switch is called off and the held frames of the current one go out.
   */
  private onFrame(i: number, f: MediaFrame): void {
    if (this.closed) return;
    const p = this.pending;
    if (p) {
      if (i === p.to) {
        if (f.dts < p.dts) return;
        p.held.push(f);
        if (f.kind === 'video' && f.keyframe && f.dts === p.dts) p.targetKey = true;
      } else if (i === this.current) {
        if (f.dts < p.dts) this.forward(f);
        else {
          p.heldCurrent.push(f);
          p.currentReached = true;
        }
      }
      const waited = this.now() - p.since > SWITCH_WAIT_MS;
      if (p.targetKey && (p.currentReached || waited)) this.completeSwitch();
      else if (!p.targetKey && waited) {
        this.pending = undefined;
        for (const h of p.heldCurrent) this.forward(h);
      }
      return;
    }
    const switchPoint = this.target !== undefined && (i === this.target || i === this.current) && f.kind === 'video' && f.keyframe && f.dts > this.lastVideoDts;
    if (switchPoint) {
      const onTarget = i === this.target;
      this.pending = { to: this.target!, dts: f.dts, held: onTarget ? [f] : [], heldCurrent: onTarget ? [] : [f], targetKey: onTarget, currentReached: !onTarget, since: this.now() };
      return;
    }
    if (i === this.current) this.forward(f);
  }

  private completeSwitch(): void {
    const p = this.pending!;
    this.pending = undefined;
    const from = this.renditions[this.current]!.name;
    this.current = p.to;
    if (this.target === p.to) this.target = undefined;
    const viewer = [...this.out.subscribers.values()][0];
    const aheadBytes = viewer ? viewer.pendingBytes() : 0;
    const s = this.renditions[p.to]!.stream;
    this.sendConfigs(p.to, s.videoConfig, s.audioConfig);
    this.switches.push({ at: this.now(), from, to: this.renditions[p.to]!.name, dts: p.dts, decidedAt: this.targetSince, aheadBytes });
    this.capNetwork();
    for (const f of p.held) this.forward(f);
  }

  private forward(f: MediaFrame): void {
    if (f.kind === 'video') {
      if (f.dts <= this.lastVideoDts) return;
      this.lastVideoDts = f.dts;
    } else if (f.kind === 'audio') {
      if (f.dts <= this.lastAudioDts) return;
      this.lastAudioDts = f.dts;
    }
    this.out.pushFrame(f);
  }

  private sendConfigs(i: number, video: CodecConfig | undefined, audio: CodecConfig | undefined): void {
    const s = this.renditions[i]!.stream;
    this.out.pushMetadata({ ...(s.metadata ?? {}), ...(video?.width ? { width: video.width, height: video.height } : {}), rendition: this.renditions[i]!.name });
    // pushConfig hands both configs to the viewer; the audio one only when it differs.
    if (video) this.out.pushConfig(video);
    if (audio && audio !== this.out.audioConfig) this.out.pushConfig(audio);
  }
}
