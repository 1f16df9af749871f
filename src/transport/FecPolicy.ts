/**
 * How much FEC to add to a block, from the measured wire loss. The repair count r for k
 * sources is the smallest with P(more than r of the k + r packets lost) <= the class's
 * target residual loss, losses taken as independent at rate p. Retransmission repairs what
 * FEC leaves, so the targets are residuals, not the final figure: audio and keyframes get
 * stricter targets because losing them costs most (a keyframe loss freezes a whole GOP).
 */
export type FecClass = 'audio' | 'keyframe' | 'video';

export interface FecPolicy {
  /**
   * Repair packets for a block of k sources of this class, given wire loss p (0..1) and how
   * many retransmission rounds still fit before the block's deadline.
   */
  repairCount(k: number, cls: FecClass, p: number, retransmitRounds?: number): number;
}

export class BinomialFecPolicy implements FecPolicy {
  constructor(
    private readonly targets: Record<FecClass, number> = { audio: 1e-3, keyframe: 1e-5, video: 1e-4 },
    /** Below this loss no FEC is sent at all (retransmission alone is enough). */
    private readonly minLoss = 0.001,
    private readonly maxRepair = 16,
  ) {}

  /**
   * With time for retransmission, FEC only has to leave what retransmission cannot repair: a
   * packet FEC misses is lost for good only if each of its retransmissions is lost too, so the
   * residual FEC must reach is the class target / p^rounds. A stream with a generous deadline
   * pays for FEC only on what retransmission cannot reach in time.
   */
  repairCount(k: number, cls: FecClass, p: number, retransmitRounds = 0): number {
    if (!(p >= this.minLoss)) return 0;
    p = Math.min(p, 0.5);
    const rounds = Math.max(0, Math.min(3, retransmitRounds));
    const target = Math.min(1, this.targets[cls] / Math.pow(p, rounds));
    if (target >= 1) return 0;
    for (let r = 0; r < this.maxRepair; r++) {
      if (tail(k + r, r, p) <= target) return r;
    }
    return this.maxRepair;
  }
}

/** P(X > r) for X ~ Binomial(n, p). */
function tail(n: number, r: number, p: number): number {
  let term = Math.pow(1 - p, n);
  let cdf = term;
  for (let i = 1; i <= r; i++) {
    term *= ((n - i + 1) / i) * (p / (1 - p));
    cdf += term;
  }
  return Math.max(0, 1 - cdf);
}
