// Where each step's batch comes from: this rank's slice of the step's global minibatch (the
// plan in proto/src/plan.ts), gathered from the training split and, when the job augments, its
// images transformed. With augmentation the next step's batch is prepared in the augmentation
// thread while the current step computes; a prefetch made for shares that have changed since
// (the balancer moved them) is dropped and the batch made again, so prefetching never changes
// which samples a step sees or how they are augmented. A sharded training split also loads the
// shards of the coming steps meanwhile (into its bounded cache).
import { stepSlice } from '@syncline/proto';
import type { Augmenter } from '../augment/augmenter.js';
import type { DatasetShape, Split } from '../data/dataset.js';
import { EpochOrders, memorySource, upcomingRows, type SampleSource } from '../data/sample-source.js';
import type { TrainingBatch } from './trainer.js';

export class BatchSource {
  private readonly train: SampleSource;
  private readonly orders: EpochOrders;
  private prefetched: { key: string; batch: Promise<TrainingBatch> } | undefined;

  constructor(
    train: SampleSource | Split,
    shape: DatasetShape,
    private readonly plan: { seed: number; batchSize: number; rank: number; steps: number },
    private readonly augmenter?: Augmenter,
  ) {
    this.train = 'rows' in train ? train : memorySource(train, shape);
    this.orders = new EpochOrders(this.train, plan.seed);
  }

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
    // Once this step's rows are read (so its shards are not pushed out), the next steps' shards load.
    const { train } = this;
    if (train.prefetch) {
      const { seed, batchSize, rank, steps } = this.plan;
      batch.then(
        () => train.prefetch!(upcomingRows(this.orders, { seed, n: train.count, batchSize, shares, rank, step, steps })),
        () => undefined,
      );
    }
    return batch;
  }

  private async make(step: number, shares: readonly number[]): Promise<TrainingBatch> {
    const { seed, batchSize, rank } = this.plan;
    const n = this.train.count;
    const epoch = Math.floor(step / Math.ceil(n / batchSize));
    const slice = stepSlice({ seed, n, batchSize, shares, rank, step, order: this.orders.of(epoch) });
    const rows = await this.train.rows(slice.indices);
    const count = slice.indices.length;
    const x = this.augmenter && count > 0 ? await this.augmenter.augment(rows.x, slice.indices, epoch) : rows.x;
    return { x, y: rows.y, count, epoch, samples: slice.indices };
  }
}
