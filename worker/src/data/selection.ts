// The part of a dataset a job trains and evaluates on: the samples of the classes it names
// (dataset.classes; training and held-out alike), then the first trainLimit training samples.
import type { DatasetSpec } from '@syncline/proto';
import { limitSplit, type Dataset, type Split } from './dataset.js';
import { memorySource, trainSource, type SampleSource } from './sample-source.js';
import { ShardedSplit } from './sharded-split.js';

/** The rows of `split` whose one-hot target is one of `classes`, in their order. */
export function classRows(split: Split, targetSize: number, classes: readonly number[]): Split {
  const keep = new Set(classes);
  const rows: number[] = [];
  for (let i = 0; i < split.count; i++) {
    const target = split.y.subarray(i * targetSize, (i + 1) * targetSize);
    if (keep.has(target.indexOf(Math.max(...target)))) rows.push(i);
  }
  const featureSize = split.x.length / Math.max(1, split.count);
  const x = new Float32Array(rows.length * featureSize);
  const y = new Float32Array(rows.length * targetSize);
  rows.forEach((row, i) => {
    x.set(split.x.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
    y.set(split.y.subarray(row * targetSize, (row + 1) * targetSize), i * targetSize);
  });
  return { x, y, count: rows.length };
}

export interface JobSplits {
  train: SampleSource;
  heldout: Split;
}

const selected = new WeakMap<Dataset, Map<string, { train: Split; heldout: Split }>>();

/** The job's training and held-out splits; filtered ones are kept per dataset, so generations and ranks in one process share them. */
export function jobSplits(dataset: Dataset, spec: Pick<DatasetSpec, 'trainLimit' | 'classes'>): JobSplits {
  if (spec.classes.length === 0) return { train: trainSource(dataset, spec.trainLimit), heldout: dataset.heldout };
  if (dataset.target.kind !== 'classes') throw new Error('dataset.classes needs a classification dataset');
  // Selecting classes reads every label: done on datasets held in memory, not on ones read shard by shard.
  if (dataset.train instanceof ShardedSplit) throw new Error(`dataset.classes: ${dataset.name} is read shard by shard on this worker (larger than its dataset cache); select classes when uploading instead`);
  const all = dataset.train;
  let byClasses = selected.get(dataset);
  if (!byClasses) selected.set(dataset, (byClasses = new Map()));
  const key = [...spec.classes].sort((a, b) => a - b).join(',');
  let splits = byClasses.get(key);
  if (!splits) {
    splits = { train: classRows(all, dataset.targetSize, spec.classes), heldout: classRows(dataset.heldout, dataset.targetSize, spec.classes) };
    byClasses.set(key, splits);
  }
  return { train: memorySource(limitSplit(splits.train, dataset, spec.trainLimit), dataset), heldout: splits.heldout };
}
