// Where each step's batch comes from: this rank's slice of the step's global minibatch (the
// plan in proto/src/plan.ts), gathered from the training split and, when the job augments, its
// images transformed. With augmentation the next step's batch is prepared in the augmentation
// thread while the current step computes; a prefetch made for shares that have changed since
// (the balancer moved them) is dropped and the batch made again, so prefetching never changes
// which samples a step sees or how they are augmented.
import { epochOrder, stepSlice } from '@syncline/proto';
import type { Augmenter } from '../augment/augmenter.js';
import { gatherRows, type DatasetShape, type Split } from '../data/dataset.js';
import type { TrainingBatch } from './trainer.js';

export class BatchSource {
  private readonly orders = new Map<number, Uint32Array>();
  private prefetched: { key: string; batch: Promise<TrainingBatch> } | undefined;

  constructor(
    private readonly train: Split,
    private readonly shape: DatasetShape,
    private readonly plan: { seed: number; batchSize: number; rank: number; steps: number },
    private readonly augmenter?: Augmenter,
  ) {}

  /** This rank's batch of `step` under `shares`; with augmentation, starts preparing step + 1. */
  async batch(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const key = `${step}:${shares.join(',')}`;
    const ready = this.prefetched?.key === key ? this.prefetched.batch : undefined;
    this.prefetched = undefined;
    const batch = ready ?? this.make(step, shares);
    if (this.augmenter && step + 1 < this.plan.steps) {
      const next = this.make(step + 1, shares);
      next.catch(() => undefined);
      this.prefetched = { key: `${step + 1}:${shares.join(',')}`, batch: next };
    }
    return batch;
  }

  private order(epoch: number): Uint32Array {
    let order = this.orders.get(epoch);
    if (!order) {
      order = epochOrder(this.plan.seed, epoch, this.train.count);
      this.orders.set(epoch, order);
      for (const e of this.orders.keys()) if (e < epoch - 1) this.orders.delete(e);
    }
    return order;
  }

  private async make(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const { seed, batchSize, rank } = this.plan;
    const n = this.train.count;
    const epoch = Math.floor(step / Math.ceil(n / batchSize));
    const slice = stepSlice({ seed, n, batchSize, shares, rank, step, order: this.order(epoch) });
    const rows = gatherRows(this.train, this.shape, slice.indices);
    const count = slice.indices.length;
    const x = this.augmenter && count > 0 ? await this.augmenter.augment(rows.x, slice.indices, epoch) : rows.x;
    return { x, y: rows.y, count, epoch, samples: slice.indices };
  }
}
