// A split of a dataset stored in shards (tensor files of consecutive samples), read through the
// worker's shard cache: a step (or a held-out evaluation batch) loads only the shards its rows
// are in, verified against their sha256, and the shards of what comes next load while it computes.
import { createHash } from 'node:crypto';
import { decodeTensorFile, type DatasetShard } from '@syncline/proto';
import type { DatasetShape } from './dataset.js';
import type { SampleSource } from './sample-source.js';
import type { DecodedShard, ShardCache } from './shard-cache.js';

export class ShardIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardIntegrityError';
  }
}

/** Reads a shard's bytes from wherever the dataset is stored (the object store). */
export type ShardFetcher = (shard: DatasetShard) => Promise<Uint8Array>;

export class ShardedSplit implements SampleSource {
  constructor(
    private readonly dataset: string,
    private readonly shards: readonly DatasetShard[],
    readonly samplesPerShard: number,
    /** Index (in the whole dataset) of this split's first sample. */
    readonly first: number,
    readonly count: number,
    private readonly shape: DatasetShape,
    private readonly cache: ShardCache,
    private readonly fetch: ShardFetcher,
  ) {}

  /** The first `limit` samples (all when limit is 0). */
  limit(limit: number): ShardedSplit {
    if (limit <= 0 || limit >= this.count) return this;
    return new ShardedSplit(this.dataset, this.shards, this.samplesPerShard, this.first, limit, this.shape, this.cache, this.fetch);
  }

  private load(index: number): () => Promise<DecodedShard> {
    return async () => {
      const shard = this.shards[index]!;
      const bytes = await this.fetch(shard);
      if (createHash('sha256').update(bytes).digest('hex') !== shard.sha256) throw new ShardIntegrityError(`dataset ${this.dataset}: shard ${index} (${shard.object}) does not match its sha256`);
      const t = decodeTensorFile(bytes);
      if (t.samples !== shard.samples || t.features !== this.shape.featureSize || t.targets !== this.shape.targetSize) {
        throw new ShardIntegrityError(`dataset ${this.dataset}: shard ${index} holds ${t.samples} samples of ${t.features}+${t.targets} values; its record says ${shard.samples} of ${this.shape.featureSize}+${this.shape.targetSize}`);
      }
      return { x: t.x, y: t.y, samples: t.samples };
    };
  }

  private shardOf(index: number): number {
    if (!(index >= 0 && index < this.count)) throw new RangeError(`sample ${index} is outside the split of ${this.count}`);
    return Math.floor((this.first + index) / this.samplesPerShard);
  }

  async rows(indices: ArrayLike<number>, signal?: AbortSignal): Promise<{ x: Float32Array; y: Float32Array }> {
    const { featureSize, targetSize } = this.shape;
    const x = new Float32Array(indices.length * featureSize);
    const y = new Float32Array(indices.length * targetSize);
    // Positions in `indices` by shard, so each shard is read once, right after it is loaded
    // (nothing needs to stay pinned in the cache while other shards load).
    const byShard = new Map<number, number[]>();
    for (let i = 0; i < indices.length; i++) {
      const s = this.shardOf(indices[i]!);
      const list = byShard.get(s);
      if (list) list.push(i);
      else byShard.set(s, [i]);
    }
    for (const [s, positions] of byShard) {
      signal?.throwIfAborted();
      const shard = await this.cache.get(this.shards[s]!.object, this.shards[s]!.bytes, this.load(s));
      for (const i of positions) {
        const row = this.first + indices[i]! - s * this.samplesPerShard;
        x.set(shard.x.subarray(row * featureSize, (row + 1) * featureSize), i * featureSize);
        y.set(shard.y.subarray(row * targetSize, (row + 1) * targetSize), i * targetSize);
      }
    }
    return { x, y };
  }

  prefetch(indices: ArrayLike<number>): void {
    const seen = new Set<number>();
    const upcoming: Parameters<ShardCache['prefetch']>[0] = [];
    for (let i = 0; i < indices.length; i++) {
      const s = this.shardOf(indices[i]!);
      if (seen.has(s)) continue;
      seen.add(s);
      upcoming.push({ key: this.shards[s]!.object, bytes: this.shards[s]!.bytes, load: this.load(s) });
    }
    this.cache.prefetch(upcoming);
  }
}
