// A dataset as workers see it: dense float samples (token ids for token datasets) and targets
// (one-hot for classes), held in memory (built-in datasets) or read shard by shard (uploads).
import type { DatasetTarget } from '@syncline/proto';
import type { ShardedSplit } from './sharded-split.js';

export interface Split {
  /** Row-major samples, `count x featureSize`. */
  x: Float32Array;
  /** Row-major targets, `count x targetSize`. */
  y: Float32Array;
  count: number;
}

export interface Dataset {
  name: string;
  /** Shape of one sample, without the batch dimension. */
  inputShape: number[];
  featureSize: number;
  target: DatasetTarget;
  targetSize: number;
  train: Split | ShardedSplit;
  /**
   * Read by the rank that evaluates, a batch at a time (evaluation-batches.ts); empty (count 0)
   * on the others.
   */
  heldout: Split | ShardedSplit;
  /** Names of the classes, by label, when the dataset has them. */
  classNames?: string[];
  /**
   * For a dataset stored in shards but held in memory here: the samples per shard, so that the
   * epoch order follows the shards exactly as when they are read shard by shard.
   */
  samplesPerShard?: number;
  /**
   * For a dataset read shard by shard: each training sample's class, from the label index stored
   * beside the shards (uploads of classification datasets); undefined when its record has none.
   */
  trainLabels?: () => Promise<Uint32Array>;
  /** The same for the held-out samples, on the rank that evaluates. */
  heldoutLabels?: () => Promise<Uint32Array>;
}

/** A dataset held whole in memory: the built-in ones. */
export interface InMemoryDataset extends Dataset {
  train: Split;
  heldout: Split;
}

export type DatasetShape = Pick<Dataset, 'inputShape' | 'featureSize' | 'target' | 'targetSize'>;

/** Copies the rows `indices` of a split into new contiguous arrays. */
export function gatherRows(split: Split, shape: Pick<DatasetShape, 'featureSize' | 'targetSize'>, indices: ArrayLike<number>): { x: Float32Array; y: Float32Array } {
  const { featureSize, targetSize } = shape;
  const x = new Float32Array(indices.length * featureSize);
  const y = new Float32Array(indices.length * targetSize);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    x.set(split.x.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
    y.set(split.y.subarray(row * targetSize, (row + 1) * targetSize), i * targetSize);
  }
  return { x, y };
}

/** The first `limit` rows of a split (all of them when limit is 0). */
export function limitSplit(split: Split, shape: DatasetShape, limit: number): Split {
  if (limit <= 0 || limit >= split.count) return split;
  return { x: split.x.subarray(0, limit * shape.featureSize), y: split.y.subarray(0, limit * shape.targetSize), count: limit };
}

/** Builds a split of `count` rows from a per-row generator. */
export function generateSplit(count: number, featureSize: number, targetSize: number, fill: (x: Float32Array, y: Float32Array) => void): Split {
  const x = new Float32Array(count * featureSize);
  const y = new Float32Array(count * targetSize);
  for (let i = 0; i < count; i++) fill(x.subarray(i * featureSize, (i + 1) * featureSize), y.subarray(i * targetSize, (i + 1) * targetSize));
  return { x, y, count };
}
