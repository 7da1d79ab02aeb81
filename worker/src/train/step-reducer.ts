// The all-reduce a replica's step runs through: each phase's buffer laid out by step-buffer.ts,
// with this rank's control slots (its compute time per sample for the balancer, its leave flag,
// rank 0's held-out value for early stopping) filled into the last phase, the collective operation numbered, and the step's time split into
// compute and communication for the metrics and the timeline.
import type { Collective } from '../allreduce/collective.js';
import { StepBufferLayout, reduce, type StepBuffer } from './step-buffer.js';
import { Timeline } from './timeline.js';
import type { AllReduce, Replica } from './trainer.js';

export interface StepOutcome {
  /** Milliseconds spent in all-reduces. */
  commMs: number;
  /** Every rank's compute milliseconds per sample, from the last phase. */
  msPerSample: Float32Array | undefined;
  /** Ranks that announced they leave after this step. */
  leaving: number[];
  /** The held-out value rank 0 handed on in this step, if any. */
  heldout: number | undefined;
  /** When the last all-reduce so far ended (Timeline.now()). */
  reducedAt: number;
}

/** Collective operation ids: one per phase of each step, increasing, after the generation's start broadcast. */
export function operationId(step: number, phases: number, phase: number): number {
  return step * phases + phase + 1;
}

export class StepReducer {
  private readonly layouts: StepBufferLayout[];

  constructor(
    replica: Pick<Replica, 'phases'>,
    private readonly collective: Pick<Collective, 'allReduceSum'>,
    private readonly rank: number,
    worldSize: number,
    private readonly timeline: Timeline | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    const last = replica.phases.length - 1;
    this.layouts = replica.phases.map((phase, i) => new StepBufferLayout(phase, i === last ? { worldSize } : undefined));
  }

  /**
   * The AllReduce for step `step` on `samples` local samples; `outcome` fills in as its phases
   * complete. `leaving`: this rank announces it leaves after the step. `heldout.value`: the
   * held-out value this rank (rank 0) hands on; `heldout.received` sees the value handed on, on
   * every rank, before the step is applied: throwing there leaves the replica as before the step.
   */
  forStep(step: number, samples: number, leaving: boolean, startMs: number, heldout?: { value?: number | undefined; received?: (value: number) => void }): { allReduce: AllReduce; outcome: StepOutcome } {
    const outcome: StepOutcome = { commMs: 0, msPerSample: undefined, leaving: [], heldout: undefined, reducedAt: startMs };
    const last = this.layouts.length - 1;
    let computeMs = 0;
    let phaseStart = startMs;
    const allReduce: AllReduce = {
      buffer: (phase) => this.layouts[phase]!.create(),
      sum: async (buffer: StepBuffer, phase: number) => {
        const commStart = Timeline.now();
        computeMs += commStart - phaseStart;
        this.timeline?.span(phase === 0 ? 'forward/backward' : `forward/backward ${phase + 1}`, phaseStart, commStart, step + 1);
        if (phase === last) {
          buffer.speeds[this.rank] = samples > 0 ? computeMs / samples : 0;
          buffer.leaving[this.rank] = leaving ? 1 : 0;
          if (heldout?.value !== undefined) buffer.heldout.set([1, heldout.value]);
        }
        const summed = await reduce(this.collective, buffer, operationId(step, this.layouts.length, phase), this.signal);
        phaseStart = outcome.reducedAt = Timeline.now();
        outcome.commMs += phaseStart - commStart;
        this.timeline?.span('all-reduce', commStart, phaseStart, step + 1);
        if (phase === last) {
          outcome.msPerSample = summed.speeds;
          summed.leaving.forEach((flag, rank) => flag > 0 && outcome.leaving.push(rank));
          if (summed.heldout[0]! > 0) {
            outcome.heldout = summed.heldout[1]!;
            heldout?.received?.(outcome.heldout);
          }
        }
        return summed;
      },
    };
    return { allReduce, outcome };
  }
}
