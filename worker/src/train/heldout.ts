// Held-out evaluation during training, for held-out curves next to the training ones: rank 0
// evaluates the held-out split after every epoch but the last (the final evaluation, which
// comes after the replicas' statistics are averaged, covers that one). Forward passes only,
// so the training state and the result of training are untouched.
import type { StepMetrics } from '@syncline/proto';
import type { Evaluation } from './trainer.js';

export type HeldoutFields = Pick<StepMetrics, 'heldoutExamples' | 'heldoutLoss' | 'heldoutAccuracy' | 'heldoutMae' | 'heldoutGeneratorLoss'>;

const NONE: HeldoutFields = { heldoutExamples: 0, heldoutLoss: 0, heldoutAccuracy: 0, heldoutMae: 0, heldoutGeneratorLoss: 0 };

/** `completed`: steps done including this one. */
export async function epochEndEvaluation<S extends { count: number }>(replica: { evaluate(split: S): Promise<Evaluation> }, heldout: S, rank: number, completed: number, perEpoch: number, steps: number): Promise<HeldoutFields> {
  if (rank !== 0 || heldout.count === 0 || completed % perEpoch !== 0 || completed >= steps) return NONE;
  const e = await replica.evaluate(heldout);
  return { heldoutExamples: heldout.count, heldoutLoss: e.loss, heldoutAccuracy: e.accuracy, heldoutMae: e.mae, heldoutGeneratorLoss: e.generatorLoss ?? 0 };
}
