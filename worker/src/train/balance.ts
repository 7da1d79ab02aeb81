// Splitting each global minibatch by measured speed, so slow and fast workers finish a step
// together. Every rank puts its compute time per sample into its own slot of the all-reduced
// buffer, so after the sum every rank holds every rank's figures, and every rank runs this
// same deterministic rule on the same numbers: all ranks switch to the same shares at the
// same step, with no extra message. The result does not change (gradients are summed by
// sample), only who computes which samples.

import { sharesFromSpeeds } from '@syncline/proto';

export interface BalancerOptions {
  /** Steps between two decisions. */
  every?: number;
  /** Adopt new shares only if they cut the predicted step time by at least this fraction. */
  minGain?: number;
  /** Shares sum to this (resolution of the split). */
  scale?: number;
}

export class ShareBalancer {
  private current: number[];
  private readonly sums: number[];
  private readonly counts: number[];
  private estimate: (number | undefined)[];
  private steps = 0;
  private readonly every: number;
  private readonly minGain: number;
  private readonly scale: number;

  constructor(initial: readonly number[], opts: BalancerOptions = {}) {
    this.current = [...initial];
    this.sums = initial.map(() => 0);
    this.counts = initial.map(() => 0);
    this.estimate = initial.map(() => undefined);
    this.every = opts.every ?? 10;
    this.minGain = opts.minGain ?? 0.05;
    this.scale = opts.scale ?? 1000;
  }

  get shares(): readonly number[] {
    return this.current;
  }

  /** Each rank's compute speed in samples per second (0 where not yet measured). */
  get speeds(): number[] {
    return this.estimate.map((ms) => (ms && ms > 0 ? 1000 / ms : 0));
  }

  /** Records one step's milliseconds per sample by rank (0: the rank had no samples). Returns true when the shares changed. */
  observe(msPerSample: ArrayLike<number>): boolean {
    for (let r = 0; r < this.current.length; r++) {
      const v = msPerSample[r]!;
      if (v > 0 && Number.isFinite(v)) {
        this.sums[r]! += v;
        this.counts[r]! += 1;
      }
    }
    if (++this.steps % this.every !== 0) return false;
    this.estimate = this.estimate.map((old, r) => (this.counts[r]! > 0 ? this.sums[r]! / this.counts[r]! : old));
    this.sums.fill(0);
    this.counts.fill(0);
    if (this.estimate.some((ms) => ms === undefined || !(ms > 0))) return false;
    const ms = this.estimate as number[];
    const proposed = sharesFromSpeeds(ms.map((m) => 1 / m), this.scale);
    const time = (shares: number[]) => {
      const sum = shares.reduce((a, b) => a + b, 0);
      return Math.max(...shares.map((s, r) => (s / sum) * ms[r]!));
    };
    if (time(proposed) < time(this.current) * (1 - this.minGain)) {
      this.current = proposed;
      return true;
    }
    return false;
  }
}
