// The part of a dataset a job trains and evaluates on: the samples of the classes it names
// (dataset.classes; training and held-out alike), then the first trainLimit training samples.
// Which samples are kept is a function of the labels alone: of the targets of a dataset held in
// memory, of the label index of one read shard by shard (never of its shards), so every rank
// keeps the same samples, the epoch order still follows the shards they are stored in, and the
// held-out samples kept are read a batch at a time like the whole held-out split.
import { labelOf, type DatasetSpec } from '@syncline/proto';
import { gatherRows, type Dataset, type Split } from './dataset.js';
import { heldoutSource, memorySource, trainSource, type SampleSource } from './sample-source.js';
import { ShardedSplit } from './sharded-split.js';

/** Indices (in order) of the samples whose label is one of `classes`. */
export function keptRows(labels: ArrayLike<number>, classes: readonly number[]): Uint32Array {
  const keep = new Set(classes);
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep.has(labels[i]!)) rows.push(i);
  return Uint32Array.from(rows);
}

/** The labels of a split held in memory, from its one-hot targets. */
export function splitLabels(split: Split, targetSize: number): Uint32Array {
  return Uint32Array.from({ length: split.count }, (_, i) => labelOf(split.y.subarray(i * targetSize, (i + 1) * targetSize)));
}

/** The rows of `split` whose one-hot target is one of `classes`, in their order. */
export function classRows(split: Split, targetSize: number, classes: readonly number[]): Split {
  const rows = keptRows(splitLabels(split, targetSize), classes);
  const featureSize = split.x.length / Math.max(1, split.count);
  return { ...gatherRows(split, { featureSize, targetSize }, rows), count: rows.length };
}

/**
 * Where the samples of each shard start among `rows` (ascending sample indices into a split whose
 * first sample is sample `first` of the dataset), then rows.length.
 */
export function shardStarts(rows: Uint32Array, samplesPerShard: number, first = 0): number[] {
  const shardOf = (row: number) => Math.floor((first + row) / samplesPerShard);
  const starts: number[] = [0];
  for (let i = 1; i < rows.length; i++) if (shardOf(rows[i]!) !== shardOf(rows[i - 1]!)) starts.push(i);
  if (rows.length > 0) starts.push(rows.length);
  return starts;
}

/** Some samples of a split read shard by shard: sample i of this source is sample rows[i] there. */
export class SelectedSource implements SampleSource {
  readonly count: number;
  readonly shardStarts: number[];

  constructor(
    private readonly base: ShardedSplit,
    private readonly kept: Uint32Array,
  ) {
    this.count = kept.length;
    this.shardStarts = shardStarts(kept, base.samplesPerShard, base.first);
  }

  rows(indices: ArrayLike<number>, signal?: AbortSignal): Promise<{ x: Float32Array; y: Float32Array }> {
    return this.base.rows(this.map(indices), signal);
  }

  prefetch(indices: ArrayLike<number>): void {
    this.base.prefetch(this.map(indices));
  }

  private map(indices: ArrayLike<number>): Uint32Array {
    return Uint32Array.from({ length: indices.length }, (_, i) => {
      const row = this.kept[indices[i]!];
      if (row === undefined) throw new RangeError(`sample ${indices[i]} is outside the ${this.count} kept`);
      return row;
    });
  }
}

export interface JobSplits {
  train: SampleSource;
  /** Empty (count 0) on the ranks that do not evaluate. */
  heldout: SampleSource;
}

const selected = new WeakMap<Dataset, Map<string, Promise<{ train: Uint32Array; heldout: SampleSource }>>>();

/** The job's training and held-out splits; selections are kept per dataset, so generations and ranks in one process share them. */
export async function jobSplits(dataset: Dataset, spec: Pick<DatasetSpec, 'trainLimit' | 'classes'>): Promise<JobSplits> {
  if (spec.classes.length === 0) return { train: trainSource(dataset, spec.trainLimit), heldout: heldoutSource(dataset) };
  if (dataset.target.kind !== 'classes') throw new Error('dataset.classes needs a classification dataset');
  let byClasses = selected.get(dataset);
  if (!byClasses) selected.set(dataset, (byClasses = new Map()));
  const key = [...spec.classes].sort((a, b) => a - b).join(',');
  let selection = byClasses.get(key);
  if (!selection) {
    selection = select(dataset, spec.classes);
    byClasses.set(key, selection);
    selection.catch(() => byClasses.delete(key));
  }
  const { train: kept, heldout } = await selection;
  const rows = spec.trainLimit > 0 && spec.trainLimit < kept.length ? kept.subarray(0, spec.trainLimit) : kept;
  const all = dataset.train;
  if (all instanceof ShardedSplit) return { train: new SelectedSource(all, rows), heldout };
  // Held in memory: the rows gathered, in the order (and shard groups) they would have when read shard by shard.
  const split = { ...gatherRows(all, dataset, rows), count: rows.length };
  return { train: memorySource(split, dataset, undefined, dataset.samplesPerShard ? shardStarts(rows, dataset.samplesPerShard) : undefined), heldout };
}

async function select(dataset: Dataset, classes: readonly number[]): Promise<{ train: Uint32Array; heldout: SampleSource }> {
  const heldout = await heldoutSelection(dataset, classes);
  if (!(dataset.train instanceof ShardedSplit)) return { train: keptRows(splitLabels(dataset.train, dataset.targetSize), classes), heldout };
  if (!dataset.trainLabels) throw noLabelIndex(dataset);
  return { train: keptRows(await dataset.trainLabels(), classes), heldout };
}

/** The held-out samples of `classes`: gathered when held in memory, else kept by the label index and read as evaluations go. */
async function heldoutSelection(dataset: Dataset, classes: readonly number[]): Promise<SampleSource> {
  const all = dataset.heldout;
  if (!(all instanceof ShardedSplit)) return memorySource(classRows(all, dataset.targetSize, classes), dataset);
  if (!dataset.heldoutLabels) throw noLabelIndex(dataset);
  return new SelectedSource(all, keptRows(await dataset.heldoutLabels(), classes));
}

function noLabelIndex(dataset: Dataset): Error {
  return new Error(`dataset.classes: dataset ${dataset.name} has no label index (it was uploaded before uploads kept one); re-upload it to select classes`);
}
