// Held-out evaluation during training, for held-out curves next to the training ones: rank 0
// evaluates the held-out split after every epoch but the last (the final evaluation, which
// comes after the replicas' statistics are averaged, covers that one), and every
// `training.heldoutEverySteps` steps when set. Forward passes only, so the training state and
// the result of training are untouched; rank 0 may keep the best weights seen (BestWeights), and
// its evaluations drive early stopping (early-stopping.ts).
import type { StepMetrics } from '@syncline/proto';
import type { Evaluation } from './trainer.js';

export type HeldoutFields = Pick<StepMetrics, 'heldoutExamples' | 'heldoutLoss' | 'heldoutAccuracy' | 'heldoutMae' | 'heldoutGeneratorLoss'>;

/** A step without a held-out evaluation. */
export const NO_HELDOUT: HeldoutFields = { heldoutExamples: 0, heldoutLoss: 0, heldoutAccuracy: 0, heldoutMae: 0, heldoutGeneratorLoss: 0 };

/**
 * Whether rank 0 evaluates after `completed` steps: at epoch ends and every `every` steps
 * (training.heldoutEverySteps; 0: epoch ends only), never after the last step (the final
 * evaluation covers that one).
 */
export function evaluationDue(completed: number, perEpoch: number, steps: number, every = 0): boolean {
  return completed > 0 && completed < steps && (completed % perEpoch === 0 || (every > 0 && completed % every === 0));
}

/** `completed`: steps done including this one; `every`: training.heldoutEverySteps (0: epoch ends only). */
export async function epochEndEvaluation<S extends { count: number }>(replica: { evaluate(heldout: S, signal?: AbortSignal): Promise<Evaluation> }, heldout: S, rank: number, completed: number, perEpoch: number, steps: number, every = 0, signal?: AbortSignal): Promise<HeldoutFields> {
  if (rank !== 0 || heldout.count === 0 || !evaluationDue(completed, perEpoch, steps, every)) return NO_HELDOUT;
  const e = await replica.evaluate(heldout, signal);
  return { heldoutExamples: heldout.count, heldoutLoss: e.loss, heldoutAccuracy: e.accuracy, heldoutMae: e.mae, heldoutGeneratorLoss: e.generatorLoss ?? 0 };
}

/**
 * Rank 0's copy of the weights with the best held-out value so far (training.publishBest): the
 * lowest loss, or by `isBetter` (training.earlyStopping's metric and minDelta).
 */
export class BestWeights {
  private best: { value: number; step: number; weights: Float32Array } | undefined;

  constructor(private readonly isBetter: (value: number, best: number) => boolean = (value, best) => value < best) {}

  /** Keeps `weights()` when `value` is the best yet. */
  async offer(value: number, step: number, weights: () => Promise<Float32Array>): Promise<void> {
    if (Number.isFinite(value) && (this.best === undefined || this.isBetter(value, this.best.value))) this.best = { value, step, weights: await weights() };
  }

  /** The best kept, unless the final weights' value (`finalValue`) is as good. */
  better(finalValue: number): { value: number; step: number; weights: Float32Array } | undefined {
    return this.best && !(finalValue === this.best.value || this.isBetter(finalValue, this.best.value)) ? this.best : undefined;
  }
}
