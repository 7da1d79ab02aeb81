// User datasets, read from the dataset's own object store (datasetBucket) as their record (the manifest) lists
// them: training rows, and the held-out split on the rank that evaluates, shard by shard through
// the worker's bounded shard cache, and the label index when a job selects classes. A dataset
// stored whole (before shards existed) is read as one shard.
import { createHash } from 'node:crypto';
import { BUCKETS, UserDataset, datasetBucket, decodeLabels, objectNames, type DatasetShard } from '@syncline/proto';
import type { NatsConnection } from 'nats';
import { jetstream } from '../jetstream.js';
import type { Dataset, DatasetShape } from './dataset.js';
import { ShardCache } from './shard-cache.js';
import { ShardIntegrityError, ShardedSplit, type ShardFetcher } from './sharded-split.js';

export class DatasetUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetUnavailableError';
  }
}

let processCache: ShardCache | undefined;

/** The worker process's shard cache, sized by SYNCLINE_DATASET_CACHE_BYTES. */
export function sharedShardCache(): ShardCache {
  return (processCache ??= ShardCache.fromEnv());
}

/** The shards of a record; a dataset stored whole is one shard of every sample. */
export function recordShards(record: UserDataset): { shards: DatasetShard[]; samplesPerShard: number } {
  if (record.shards.length > 0) return { shards: record.shards, samplesPerShard: record.samplesPerShard };
  const samples = record.train + record.heldout;
  return { shards: [{ object: objectNames.dataset(record.name, record.sha256), samples, bytes: 0, sha256: record.sha256, labelsObject: '', labelsSha256: '' }], samplesPerShard: samples };
}

export function objectStoreFetcher(nc: NatsConnection, name: string): ShardFetcher {
  return async (shard) => {
    const store = await jetstream(nc).views.os(datasetBucket(name));
    const bytes = await store.getBlob(shard.object);
    if (!bytes) throw new DatasetUnavailableError(`dataset ${name}: ${shard.object} is missing from the object store`);
    return bytes;
  };
}

export async function readUserDatasetRecord(nc: NatsConnection, name: string): Promise<UserDataset> {
  const kv = await jetstream(nc).views.kv(BUCKETS.datasets);
  const entry = await kv.get(name);
  if (!entry || entry.operation !== 'PUT') throw new DatasetUnavailableError(`dataset ${JSON.stringify(name)} is neither built in nor uploaded`);
  return UserDataset.fromJSON(entry.json());
}

export interface UserDatasetOptions {
  /** Open the held-out split (the rank that evaluates reads it as it evaluates); otherwise it is left empty. */
  heldout: boolean;
  cache?: ShardCache;
  fetch?: ShardFetcher;
}

export async function loadUserDataset(nc: NatsConnection, name: string, opts: UserDatasetOptions): Promise<Dataset> {
  const record = await readUserDatasetRecord(nc, name);
  return openUserDataset(record, opts.fetch ?? objectStoreFetcher(nc, name), opts);
}

/** The dataset a record describes, its shards read with `fetch`. */
export async function openUserDataset(record: UserDataset, fetch: ShardFetcher, opts: Omit<UserDatasetOptions, 'fetch'>): Promise<Dataset> {
  const { shards, samplesPerShard } = recordShards(record);
  const featureSize = record.inputShape.reduce((a, b) => a * b, 1);
  const shape: DatasetShape = {
    inputShape: record.inputShape,
    featureSize,
    target: record.classes > 0 ? { kind: 'classes', classes: record.classes } : { kind: 'regression', size: record.targetSize },
    targetSize: record.targetSize,
  };
  const cache = opts.cache ?? sharedShardCache();
  // Shards stored whole have no size in their record: count them as the tensor file they are.
  const sized = shards.map((s) => (s.bytes > 0 ? s : { ...s, bytes: 20 + 4 * s.samples * (featureSize + record.targetSize) }));
  const split = (first: number, count: number) => new ShardedSplit(record.name, sized, samplesPerShard, first, count, shape, cache, fetch);
  const trainLabels = labelIndex(record, shards, samplesPerShard, fetch, 0, record.train);
  const heldoutLabels = opts.heldout ? labelIndex(record, shards, samplesPerShard, fetch, record.train, record.heldout) : undefined;
  return {
    name: record.name,
    ...shape,
    train: split(0, record.train),
    // Nothing is read yet: evaluations read it a batch at a time, through the cache.
    heldout: opts.heldout ? split(record.train, record.heldout) : { x: new Float32Array(0), y: new Float32Array(0), count: 0 },
    ...(trainLabels ? { trainLabels } : {}),
    ...(heldoutLabels ? { heldoutLabels } : {}),
    ...(record.classNames.length ? { classNames: record.classNames } : {}),
  };
}

/**
 * The class of each of the `count` samples from sample `first` on (the training or the held-out
 * ones), read from the label indexes of the shards that hold them (4 bytes a sample, not the
 * shards); undefined when the record has no label index.
 */
function labelIndex(record: UserDataset, shards: DatasetShard[], samplesPerShard: number, fetch: ShardFetcher, first: number, count: number): (() => Promise<Uint32Array>) | undefined {
  const firstShard = Math.floor(first / samplesPerShard);
  const holding = shards.slice(firstShard, Math.ceil((first + count) / samplesPerShard));
  if (record.classes === 0 || holding.some((s) => s.labelsObject === '')) return undefined;
  let labels: Promise<Uint32Array> | undefined;
  const read = async () => {
    const out = new Uint32Array(count);
    for (const [i, shard] of holding.entries()) {
      const bytes = await fetch({ ...shard, object: shard.labelsObject, sha256: shard.labelsSha256 });
      if (createHash('sha256').update(bytes).digest('hex') !== shard.labelsSha256) throw new ShardIntegrityError(`dataset ${record.name}: label index ${shard.labelsObject} does not match its sha256`);
      const part = decodeLabels(bytes);
      if (part.length !== shard.samples) throw new ShardIntegrityError(`dataset ${record.name}: label index ${shard.labelsObject} has ${part.length} labels for a shard of ${shard.samples} samples`);
      // This shard's samples that fall in [first, first + count).
      const shardStart = (firstShard + i) * samplesPerShard;
      const from = Math.max(first, shardStart);
      const to = Math.min(first + count, shardStart + part.length);
      if (to > from) out.set(part.subarray(from - shardStart, to - shardStart), from - first);
    }
    return out;
  };
  return () => (labels ??= read().catch((err: unknown) => {
    labels = undefined;
    throw err;
  }));
}
