// The decision of training.earlyStopping (Keras EarlyStopping), as a pure function of the held-out
// evaluations so far. Rank 0 evaluates, but every rank runs this same function on the same values:
// rank 0's value reaches every rank in the control section of the next step's all-reduce
// (step-buffer.ts), as a float32, so every rank decides alike and stops after the same step, and
// any rank holds the state a new generation needs (it also travels in checkpoints).
import type { EarlyStop, EarlyStopping as EarlyStoppingSpec } from '@syncline/proto';

export const MONITORS = ['loss', 'accuracy'] as const;
export type Monitor = (typeof MONITORS)[number];

/** What every rank knows of the evaluations so far; plain data, so it goes into checkpoints as JSON. */
export interface EarlyStoppingState {
  /** The best value yet and the step of its evaluation; bestStep 0: no evaluation yet. */
  best: number;
  bestStep: number;
  /** Evaluations since the best without an improvement. */
  wait: number;
  /** The step of the last evaluation taken in (0: none). */
  evaluatedStep: number;
  /** Set once the patience is used up: every rank stops after this step. */
  stoppedAt?: number;
}

export const INITIAL_EARLY_STOPPING: EarlyStoppingState = { best: 0, bestStep: 0, wait: 0, evaluatedStep: 0 };

export class EarlyStoppingRule {
  readonly monitor: Monitor;

  constructor(readonly spec: EarlyStoppingSpec) {
    if (!(MONITORS as readonly string[]).includes(spec.monitor)) throw new Error(`training.earlyStopping.monitor ${JSON.stringify(spec.monitor)} is not one of ${MONITORS.join(', ')}`);
    this.monitor = spec.monitor as Monitor;
  }

  /** The watched value of an evaluation, as it travels in the step buffer (float32). */
  value(evaluation: { loss: number; accuracy: number }): number {
    return Math.fround(this.monitor === 'loss' ? evaluation.loss : evaluation.accuracy);
  }

  /** Whether `value` improves on `best` by at least minDelta. */
  improves(value: number, best: number): boolean {
    return this.monitor === 'loss' ? value < best - this.spec.minDelta : value > best + this.spec.minDelta;
  }

  /** The state after the evaluation of the weights after step `step` gave `value`. */
  observe(state: EarlyStoppingState, value: number, step: number): EarlyStoppingState {
    if (state.stoppedAt !== undefined) throw new Error(`early stopping already stopped training at step ${state.stoppedAt}`);
    if (step <= state.evaluatedStep) throw new Error(`the evaluation after step ${step} comes after the one after step ${state.evaluatedStep}`);
    if (Number.isFinite(value) && (state.bestStep === 0 || this.improves(value, state.best))) return { best: value, bestStep: step, wait: 0, evaluatedStep: step };
    const wait = state.wait + 1;
    return { ...state, wait, evaluatedStep: step, ...(wait >= this.spec.patience ? { stoppedAt: step } : {}) };
  }

  /** What the job's result says of a stop. */
  describe(state: EarlyStoppingState): EarlyStop | undefined {
    if (state.stoppedAt === undefined) return undefined;
    const by = this.spec.minDelta > 0 ? ` by ${this.spec.minDelta}` : '';
    const best = state.bestStep > 0 ? ` (best ${state.best.toPrecision(4)} at step ${state.bestStep})` : ' (no finite value)';
    const evaluations = this.spec.patience === 1 ? 'evaluation' : `${this.spec.patience} evaluations`;
    return {
      step: state.stoppedAt,
      bestStep: state.bestStep,
      bestValue: state.best,
      reason: `held-out ${this.monitor} did not improve${by} for ${evaluations}${best}`,
    };
  }
}
