import type { Prng } from './Prng.js';

/**
 * Gilbert-Elliott loss in its simple two-state form: Good never loses, Bad always does.
 * Leaving Bad has probability 1/burst (mean burst length = burst), entering it is chosen so the
 * long-run loss rate is `loss`: p = loss / (burst * (1 - loss)). burst <= 1 gives Bernoulli loss.
 */
export class LossModel {
  private bad = false;
  private readonly enter: number;
  private readonly leave: number;

  constructor(
    private readonly loss: number,
    private readonly burst: number,
    private readonly rng: Prng,
  ) {
    if (!(loss >= 0 && loss < 1)) throw new RangeError(`loss must be in [0, 1): ${loss}`);
    this.leave = burst > 1 ? 1 / burst : 1;
    this.enter = burst > 1 ? loss / (burst * (1 - loss)) : loss;
  }

  /** Decides the fate of the next packet. */
  lost(): boolean {
    if (this.loss <= 0) return false;
    if (this.burst <= 1) return this.rng.next() < this.loss;
    if (this.bad) {
      if (this.rng.next() < this.leave) this.bad = false;
    } else if (this.rng.next() < this.enter) {
      this.bad = true;
    }
    return this.bad;
  }
}
