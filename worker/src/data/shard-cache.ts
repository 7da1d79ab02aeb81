// A worker's bounded memory for dataset shards, least recently used out first
// (SYNCLINE_DATASET_CACHE_BYTES). A step asks for its shards as it gathers its rows; the
// prefetcher loads the shards of the coming steps meanwhile, but only into room it can make
// without dropping a shard those steps need, so prefetching never thrashes the cache.

/** Default budget: 1 GiB. */
export const DEFAULT_CACHE_BYTES = 1024 ** 3;

export interface DecodedShard {
  x: Float32Array;
  y: Float32Array;
  samples: number;
}

interface Entry {
  bytes: number;
  value: Promise<DecodedShard>;
}

export interface ShardCacheStats {
  hits: number;
  /** Loads asked for by a step that found the shard neither cached nor being prefetched. */
  misses: number;
  prefetches: number;
  evictions: number;
  /** Most bytes held at once. */
  peakBytes: number;
}

export class ShardCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;
  readonly stats: ShardCacheStats = { hits: 0, misses: 0, prefetches: 0, evictions: 0, peakBytes: 0 };

  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes > 0)) throw new RangeError(`the dataset cache budget must be positive, got ${budgetBytes}`);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ShardCache {
    const text = env.SYNCLINE_DATASET_CACHE_BYTES;
    const bytes = text === undefined || text === '' ? DEFAULT_CACHE_BYTES : Number(text);
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`SYNCLINE_DATASET_CACHE_BYTES: expected a positive number of bytes, got ${JSON.stringify(text)}`);
    return new ShardCache(bytes);
  }

  get bytes(): number {
    return this.held;
  }

  /** The shard `key` (of `bytes` bytes), loaded now unless cached or on its way. */
  get(key: string, bytes: number, load: () => Promise<DecodedShard>): Promise<DecodedShard> {
    const hit = this.entries.get(key);
    if (hit) {
      this.stats.hits += 1;
      this.touch(key, hit);
      return hit.value;
    }
    this.stats.misses += 1;
    this.makeRoom(bytes, new Set([key]), true);
    return this.insert(key, bytes, load).value;
  }

  /**
   * Loads the shards `upcoming` will need, in that order, as far as they fit beside one another
   * without dropping any of them; stops at the first that does not.
   */
  prefetch(upcoming: { key: string; bytes: number; load: () => Promise<DecodedShard> }[]): void {
    const needed = new Set(upcoming.map((u) => u.key));
    for (const u of upcoming) {
      const entry = this.entries.get(u.key);
      if (entry) {
        this.touch(u.key, entry);
        continue;
      }
      if (!this.makeRoom(u.bytes, needed, false)) return;
      this.stats.prefetches += 1;
      this.insert(u.key, u.bytes, u.load);
    }
  }

  private touch(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private insert(key: string, bytes: number, load: () => Promise<DecodedShard>): Entry {
    const entry: Entry = { bytes, value: load() };
    entry.value.catch(
      () => {
        // A failed load is forgotten, so the next request tries again.
        if (this.entries.get(key) === entry) {
          this.entries.delete(key);
          this.held -= bytes;
        }
      },
    );
    this.entries.set(key, entry);
    this.held += bytes;
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.held);
    return entry;
  }

  /**
   * Drops least recently used shards, except `keep`, until `bytes` more fit; false (dropping
   * nothing) if they cannot. With `force` (a step waits for the shard) it is let in even so,
   * alone if it is larger than the whole budget: a step must be able to read it.
   */
  private makeRoom(bytes: number, keep: Set<string>, force: boolean): boolean {
    let free = this.budgetBytes - this.held;
    if (free >= bytes) return true;
    const victims: string[] = [];
    for (const [key, entry] of this.entries) {
      if (free >= bytes) break;
      if (keep.has(key)) continue;
      victims.push(key);
      free += entry.bytes;
    }
    if (free < bytes && !force) return false;
    for (const key of victims) {
      const entry = this.entries.get(key)!;
      this.entries.delete(key);
      this.held -= entry.bytes;
      this.stats.evictions += 1;
    }
    return true;
  }
}
