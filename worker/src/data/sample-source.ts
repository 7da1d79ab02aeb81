// Where a step's (or a held-out evaluation batch's) rows come from: a split held in memory, or a
// sharded one read through the worker's shard cache (sharded-split.ts). Both answer the same
// question, rows by index.
import { epochOrder, groupedEpochOrder, shardedEpochOrder, stepSlice, stepsPerEpoch } from '@syncline/proto';
import { gatherRows, limitSplit, type Dataset, type DatasetShape, type Split } from './dataset.js';
import { ShardedSplit } from './sharded-split.js';

export interface SampleSource {
  /** Samples in the split. */
  readonly count: number;
  /** Samples per stored shard, for a sharded split (the epoch order then follows the shards). */
  readonly samplesPerShard?: number;
  /**
   * For some samples of a sharded split (dataset.classes): where each shard's samples start in
   * this source, then `count`; the epoch order follows these groups instead.
   */
  readonly shardStarts?: ArrayLike<number>;
  /** Rows `indices` (into this split) as contiguous arrays. */
  rows(indices: ArrayLike<number>, signal?: AbortSignal): Promise<{ x: Float32Array; y: Float32Array }>;
  /** The rows coming steps will ask for, in order: a sharded split loads their shards ahead. */
  prefetch?(indices: ArrayLike<number>): void;
}

export function memorySource(split: Split, shape: DatasetShape, samplesPerShard?: number, shardStarts?: ArrayLike<number>): SampleSource {
  return {
    count: split.count,
    ...(samplesPerShard ? { samplesPerShard } : {}),
    ...(shardStarts ? { shardStarts } : {}),
    rows: async (indices) => gatherRows(split, shape, indices),
  };
}

/** The training split of `dataset` as a source, its first `limit` samples (all when 0). */
export function trainSource(dataset: Dataset, limit: number): SampleSource {
  const train = dataset.train;
  if (train instanceof ShardedSplit) return train.limit(limit);
  return memorySource(limitSplit(train, dataset, limit), dataset, dataset.samplesPerShard);
}

/** The held-out split of `dataset` as a source: read shard by shard when it is stored so. */
export function heldoutSource(dataset: Dataset): SampleSource {
  return dataset.heldout instanceof ShardedSplit ? dataset.heldout : memorySource(dataset.heldout, dataset);
}

/**
 * The sample order of each epoch, seed-only: shard-aware for a sharded source (so a cache of a
 * few shards serves a stretch of steps), epochOrder otherwise. Keeps the last two epochs'.
 */
export class EpochOrders {
  private readonly orders = new Map<number, Uint32Array>();

  constructor(
    private readonly source: SampleSource,
    private readonly seed: number,
  ) {}

  of(epoch: number): Uint32Array {
    let order = this.orders.get(epoch);
    if (!order) {
      const { count, samplesPerShard, shardStarts } = this.source;
      if (shardStarts) order = groupedEpochOrder(this.seed, epoch, shardStarts);
      else order = samplesPerShard ? shardedEpochOrder(this.seed, epoch, count, samplesPerShard) : epochOrder(this.seed, epoch, count);
      this.orders.set(epoch, order);
      for (const e of this.orders.keys()) if (e < epoch - 1) this.orders.delete(e);
    }
    return order;
  }
}

/** Steps of look-ahead the prefetcher is given (it loads only what fits the cache). */
export const PREFETCH_STEPS = 8;

/** This rank's rows of the `ahead` steps after `step`, in order, assuming the shares stay. */
export function upcomingRows(orders: EpochOrders, opts: { seed: number; n: number; batchSize: number; shares: readonly number[]; rank: number; step: number; steps: number; ahead?: number }): Uint32Array {
  const perEpoch = stepsPerEpoch(opts.n, opts.batchSize);
  const parts: Uint32Array[] = [];
  for (let s = opts.step + 1; s <= Math.min(opts.steps - 1, opts.step + (opts.ahead ?? PREFETCH_STEPS)); s++) {
    parts.push(stepSlice({ seed: opts.seed, n: opts.n, batchSize: opts.batchSize, shares: opts.shares, rank: opts.rank, step: s, order: orders.of(Math.floor(s / perEpoch)) }).indices);
  }
  const out = new Uint32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
