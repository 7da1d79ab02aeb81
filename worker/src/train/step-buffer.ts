// The one owner of the layout of what a training step all-reduces. Each phase of a step (one,
// or a GAN's two) sums one flat buffer over all replicas:
//
//   [ gradients | statistics | state | speed slots, one per rank | leave flags, one per rank | held-out ]
//                                        └──────────────── control: the last phase only ────────────────┘
//
// Gradients (the "fusion buffer", in variable order) may travel compressed, by the job's
// communication settings; everything after them is reduced exactly, so that sample counts,
// losses, the speeds the balancer reads and the flags of ranks leaving sum to the true values.
// `held-out` is [1, value] when rank 0 evaluated after the previous step (training.earlyStopping's
// metric), else [0, 0]: only rank 0 writes it, so the sum hands its value to every rank.
// (`state` holds values averaged at the end of training, batch-norm moving statistics: exact too.)
// The all-reduce learns where the exact part starts from compressibleLength (reduce() below).
import type { Collective } from '../allreduce/collective.js';

/** Per-step sums a replica reports next to its gradients. */
export const Stat = {
  /** Summed loss over the replica's samples. */
  loss: 'loss',
  /** Correctly classified samples (or a GAN discriminator's correct calls). */
  correct: 'correct',
  /** Summed absolute error (regression). */
  absError: 'absError',
  /** Samples the replica trained on: the divisor of every mean. */
  samples: 'samples',
} as const;
export type Stat = (typeof Stat)[keyof typeof Stat];

const HELDOUT_SLOTS = 2;

/** What one phase of a replica's step contributes. */
export interface PhaseLayout {
  /** Gradient elements (the compressible part). */
  gradients: number;
  statistics: readonly Stat[];
  /** Values reduced exactly after the statistics (batch-norm moving statistics); default 0. */
  state?: number;
}

export class StepBufferLayout {
  readonly length: number;
  /** Elements 0 ..< this may be compressed; the rest is reduced exactly. */
  readonly compressibleLength: number;
  private readonly statAt = new Map<Stat, number>();
  readonly stateAt: number;
  /** Start of the speed slots and of the leave flags; -1 without a control section. */
  readonly speedsAt: number;
  readonly leavingAt: number;
  readonly heldoutAt: number;

  /** `control`: the world size when this phase carries the per-rank control slots. */
  constructor(
    readonly phase: PhaseLayout,
    readonly control?: { worldSize: number },
  ) {
    this.compressibleLength = phase.gradients;
    let at = phase.gradients;
    for (const stat of phase.statistics) {
      if (this.statAt.has(stat)) throw new Error(`statistic ${stat} appears twice in a phase layout`);
      this.statAt.set(stat, at++);
    }
    this.stateAt = at;
    at += phase.state ?? 0;
    this.speedsAt = control ? at : -1;
    this.leavingAt = control ? at + control.worldSize : -1;
    this.heldoutAt = control ? at + 2 * control.worldSize : -1;
    this.length = at + (control ? 2 * control.worldSize + HELDOUT_SLOTS : 0);
  }

  /** A zeroed buffer of this layout. */
  create(): StepBuffer {
    return new StepBuffer(this, new Float32Array(this.length));
  }

  /** Where statistic `stat` lives; throws for one the phase does not carry. */
  indexOf(stat: Stat): number {
    const at = this.statAt.get(stat);
    if (at === undefined) throw new Error(`this phase carries no ${stat} statistic`);
    return at;
  }
}

/** One buffer of a StepBufferLayout: named access to its sections. */
export class StepBuffer {
  constructor(
    readonly layout: StepBufferLayout,
    readonly data: Float32Array,
  ) {
    if (data.length !== layout.length) throw new RangeError(`buffer of ${data.length} elements for a layout of ${layout.length}`);
  }

  /** The gradient section, a view: replicas pack into it and read the summed gradients from it. */
  get gradients(): Float32Array {
    return this.data.subarray(0, this.layout.phase.gradients);
  }

  stat(stat: Stat): number {
    return this.data[this.layout.indexOf(stat)]!;
  }

  setStat(stat: Stat, value: number): void {
    this.data[this.layout.indexOf(stat)] = value;
  }

  /** The exact state section; a view. */
  get state(): Float32Array {
    return this.data.subarray(this.layout.stateAt, this.layout.stateAt + (this.layout.phase.state ?? 0));
  }

  /** Milliseconds of compute per sample, by rank (0: no samples); a view. */
  get speeds(): Float32Array {
    return this.control(this.layout.speedsAt);
  }

  /** 1 for each rank that leaves after this step (a SIGTERM), else 0; a view. */
  get leaving(): Float32Array {
    return this.control(this.layout.leavingAt);
  }

  /** [1, value] when rank 0 hands on a held-out evaluation, else [0, 0]; a view. */
  get heldout(): Float32Array {
    if (this.layout.heldoutAt < 0) throw new Error('this phase carries no control section');
    return this.data.subarray(this.layout.heldoutAt, this.layout.heldoutAt + HELDOUT_SLOTS);
  }

  private control(at: number): Float32Array {
    const world = this.layout.control?.worldSize;
    if (world === undefined) throw new Error('this phase carries no control section');
    return this.data.subarray(at, at + world);
  }
}

/**
 * The sum over all ranks of `buffer` as collective operation `id`: gradients as the job's
 * compression says, the rest exact. Every all-reduce of a training step goes through here.
 */
export async function reduce(collective: Pick<Collective, 'allReduceSum'>, buffer: StepBuffer, id: number, signal?: AbortSignal): Promise<StepBuffer> {
  const summed = await collective.allReduceSum(buffer.data, id, signal, { exactFrom: buffer.layout.compressibleLength });
  return new StepBuffer(buffer.layout, summed);
}

/** A layout of `length` values that are only ever reduced exactly (batch-norm moving statistics). */
export function exactLayout(length: number): StepBufferLayout {
  return new StepBufferLayout({ gradients: 0, statistics: [], state: length });
}
