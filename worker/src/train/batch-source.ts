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

  /**
   * This rank's batch of `step` under `shares`; with augmentation, a promise, and the preparation
   * of step + 1 starts. Without, the batch itself: the step loop does not yield between steps.
   */
  batch(step: number, shares: readonly number[]): TrainingBatch | Promise<TrainingBatch> {
    if (!this.augmenter) return this.gather(step, shares).batch;
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

  private gather(step: number, shares: readonly number[]): { batch: TrainingBatch } {
    const { seed, batchSize, rank } = this.plan;
    const n = this.train.count;
    const epoch = Math.floor(step / Math.ceil(n / batchSize));
    const slice = stepSlice({ seed, n, batchSize, shares, rank, step, order: this.order(epoch) });
    const rows = gatherRows(this.train, this.shape, slice.indices);
    return { batch: { x: rows.x, y: rows.y, count: slice.indices.length, epoch, samples: slice.indices } };
  }

  private async make(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const { batch } = this.gather(step, shares);
    return batch.count > 0 && this.augmenter ? { ...batch, x: await this.augmenter.augment(batch.x, batch.samples, batch.epoch) } : batch;
  }
}
