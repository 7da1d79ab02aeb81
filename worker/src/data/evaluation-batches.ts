// The held-out samples in order, one evaluation batch at a time, read through their source: a
// split in memory, or one stored in shards, read through the worker's bounded shard cache with
// the shards of the next batch loading while the caller computes on this one. One batch is
// gathered at a time, so an evaluation holds the cache plus one batch, whatever the split's size.
// The look-ahead is one batch: an evaluation reads its shards once each, in order, so looking
// further would only have shards wanted later (kept from the last evaluation of a split larger
// than the cache) hold room that the next ones need.
import type { SampleSource } from './sample-source.js';

/** Held-out evaluations sum their loss and metrics over batches of this many samples, in order. */
export const EVALUATION_BATCH_SIZE = 500;

export interface RowBatch {
  /** Row-major samples and targets of `count` rows. */
  x: Float32Array;
  y: Float32Array;
  count: number;
}

/** The indices start, start + 1, …, end − 1. */
export function indexRange(start: number, end: number): Uint32Array {
  return Uint32Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** Every sample of `source`, in order, in batches of `batchSize` (the last one shorter). */
export async function* evaluationBatches(source: SampleSource, batchSize = EVALUATION_BATCH_SIZE, signal?: AbortSignal): AsyncGenerator<RowBatch> {
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new RangeError(`the evaluation batch size must be a positive integer, got ${batchSize}`);
  const { count } = source;
  for (let start = 0; start < count; start += batchSize) {
    signal?.throwIfAborted();
    const end = Math.min(count, start + batchSize);
    // This batch's shards are among those named, so loading the ones ahead never drops them.
    source.prefetch?.(indexRange(start, Math.min(count, end + batchSize)));
    const rows = await source.rows(indexRange(start, end), signal);
    yield { ...rows, count: end - start };
  }
}
