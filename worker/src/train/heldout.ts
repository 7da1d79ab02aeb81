// Held-out evaluation during training, for held-out curves next to the training ones: rank 0
// evaluates the held-out split after every epoch but the last (the final evaluation, which
// comes after the replicas' statistics are averaged, covers that one), and every
// `training.heldoutEverySteps` steps when set. Forward passes only, so the training state and
// the result of training are untouched; rank 0 may keep the best weights seen (BestWeights).
import type { StepMetrics } from '@syncline/proto';
import type { Evaluation } from './trainer.js';

export type HeldoutFields = Pick<StepMetrics, 'heldoutExamples' | 'heldoutLoss' | 'heldoutAccuracy' | 'heldoutMae' | 'heldoutGeneratorLoss'>;

const NONE: HeldoutFields = { heldoutExamples: 0, heldoutLoss: 0, heldoutAccuracy: 0, heldoutMae: 0, heldoutGeneratorLoss: 0 };

/** `completed`: steps done including this one; `every`: training.heldoutEverySteps (0: epoch ends only). */
export async function epochEndEvaluation<S extends { count: number }>(replica: { evaluate(split: S): Promise<Evaluation> }, heldout: S, rank: number, completed: number, perEpoch: number, steps: number, every = 0): Promise<HeldoutFields> {
  const due = completed % perEpoch === 0 || (every > 0 && completed % every === 0);
  if (rank !== 0 || heldout.count === 0 || !due || completed >= steps) return NONE;
  const e = await replica.evaluate(heldout);
  return { heldoutExamples: heldout.count, heldoutLoss: e.loss, heldoutAccuracy: e.accuracy, heldoutMae: e.mae, heldoutGeneratorLoss: e.generatorLoss ?? 0 };
}

/** Rank 0's copy of the weights with the lowest held-out loss so far (training.publishBest). */
export class BestWeights {
  private best: { loss: number; step: number; weights: Float32Array } | undefined;

  /** Keeps `weights()` when `loss` is the lowest yet. */
  async offer(loss: number, step: number, weights: () => Promise<Float32Array>): Promise<void> {
    if (Number.isFinite(loss) && (this.best === undefined || loss < this.best.loss)) this.best = { loss, step, weights: await weights() };
  }

  /** The best kept, when it beats `finalLoss` (the final weights' held-out loss). */
  better(finalLoss: number): { loss: number; step: number; weights: Float32Array } | undefined {
    return this.best && !(finalLoss <= this.best.loss) ? this.best : undefined;
  }
}
