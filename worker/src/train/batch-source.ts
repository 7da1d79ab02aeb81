// Where each step's batch comes from: this rank's slice of the step's global minibatch (the
// plan in proto/src/plan.ts), read from the training source (in memory, or shard by shard
// through the worker's shard cache) and, when the job augments, its images transformed. The
// shards of the coming steps load while the current step computes; with augmentation the next
// step's batch is prepared in the augmentation thread as well. A prefetch made for shares that
// have changed since (the balancer moved them) is dropped and the batch made again, so
// prefetching never changes which samples a step sees or how they are augmented.
import { stepSlice, stepsPerEpoch } from '@syncline/proto';
import type { Augmenter } from '../augment/augmenter.js';
import { EpochOrders, upcomingRows, type SampleSource } from '../data/sample-source.js';
import type { TrainingBatch } from './trainer.js';

export class BatchSource {
  private readonly orders: EpochOrders;
  private prefetched: { key: string; batch: Promise<TrainingBatch> } | undefined;

  constructor(
    private readonly train: SampleSource,
    private readonly plan: { seed: number; batchSize: number; rank: number; steps: number },
    private readonly augmenter?: Augmenter,
    private readonly signal?: AbortSignal,
  ) {
    this.orders = new EpochOrders(train, plan.seed);
  }

  /** This rank's batch of `step` under `shares`; starts loading what the next steps need. */
  async batch(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const key = `${step}:${shares.join(',')}`;
    const ready = this.prefetched?.key === key ? this.prefetched.batch : undefined;
    this.prefetched = undefined;
    const batch = ready ?? this.make(step, shares);
    // Shards of the coming steps load while this one computes.
    const { seed, batchSize, rank, steps } = this.plan;
    this.train.prefetch?.(upcomingRows(this.orders, { seed, n: this.train.count, batchSize, shares, rank, step, steps }));
    if (this.augmenter && step + 1 < steps) {
      const next = this.make(step + 1, shares);
      next.catch(() => undefined);
      this.prefetched = { key: `${step + 1}:${shares.join(',')}`, batch: next };
    }
    return batch;
  }

  private async make(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const { seed, batchSize, rank } = this.plan;
    const n = this.train.count;
    const epoch = Math.floor(step / stepsPerEpoch(n, batchSize));
    const slice = stepSlice({ seed, n, batchSize, shares, rank, step, order: this.orders.of(epoch) });
    const rows = await this.train.rows(slice.indices, this.signal);
    const count = slice.indices.length;
    const x = this.augmenter && count > 0 ? await this.augmenter.augment(rows.x, slice.indices, epoch) : rows.x;
    return { x, y: rows.y, count, epoch, samples: slice.indices };
  }
}
