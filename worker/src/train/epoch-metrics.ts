// What the step loop reports: each step's global metrics, and the training means of the
// current epoch for the final metrics.
import type { FinalMetrics, StepMetrics } from '@syncline/proto';
import type { Evaluation, StepStats } from './trainer.js';
import type { HeldoutFields } from './heldout.js';

export class EpochMetrics {
  private epoch = -1;
  private loss = 0;
  private correct = 0;
  private absError = 0;
  private samples = 0;

  /** Adds one step's global statistics; a new epoch starts the means again. */
  add(epoch: number, stats: StepStats): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.loss = this.correct = this.absError = this.samples = 0;
    }
    this.loss += stats.loss * stats.samples;
    this.correct += stats.accuracy * stats.samples;
    this.absError += stats.mae * stats.samples;
    this.samples += stats.samples;
  }

  /** Final metrics: held-out ones from `heldout`, training means of the last epoch. */
  final(heldout: Evaluation, heldoutExamples: number, steps: number, seconds: number): FinalMetrics {
    const mean = (sum: number) => (this.samples > 0 ? sum / this.samples : 0);
    return {
      loss: heldout.loss,
      accuracy: heldout.accuracy,
      mae: heldout.mae,
      generatorLoss: heldout.generatorLoss ?? 0,
      heldoutExamples,
      trainLoss: mean(this.loss),
      trainAccuracy: mean(this.correct),
      trainMae: mean(this.absError),
      steps,
      seconds,
      earlyStop: undefined,
    };
  }
}

export interface StepTiming {
  /** Wall milliseconds of the whole step. */
  stepMs: number;
  /** Of which spent in all-reduces. */
  commMs: number;
  /** Every rank's compute milliseconds per sample (0: none measured). */
  msPerSample: ArrayLike<number> | undefined;
}

/** The metrics rank 0 streams to the coordinator after step `step` (0-based). */
export function stepMetrics(step: number, epoch: number, totalSteps: number, workers: number, shares: number[], stats: StepStats, timing: StepTiming, heldout: HeldoutFields): StepMetrics {
  return {
    step: step + 1,
    epoch: epoch + 1,
    loss: stats.loss,
    accuracy: stats.accuracy,
    mae: stats.mae,
    generatorLoss: stats.generatorLoss ?? 0,
    samplesPerSecond: stats.samples / (timing.stepMs / 1000),
    workers,
    totalSteps,
    commFraction: timing.commMs / timing.stepMs,
    shares,
    rankSamplesPerSecond: timing.msPerSample ? Array.from(timing.msPerSample, (ms) => (ms > 0 ? 1000 / ms : 0)) : [],
    ...heldout,
  };
}
