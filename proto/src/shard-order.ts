// The sample order of an epoch over a dataset stored in shards, shared by coordinator and
// workers like epochOrder. Like MosaicML Streaming's, it is a function of the seed, the epoch
// and the shard layout alone, never of the number of workers, and it is local: the shards are
// visited in a seeded order, SHUFFLE_BLOCK_SHARDS at a time, and the samples of those shards
// are shuffled together. So a stretch of steps needs a few shards, which a worker's bounded
// cache can hold, while every batch still mixes samples of several shards.
import { epochOrder, seededRandom } from './plan.js';

export const SHUFFLE_BLOCK_SHARDS = 4;

/**
 * The order in which an epoch visits samples 0..n-1 stored `samplesPerShard` to a shard (the
 * last shard may be short). A dataset of one shard gets epochOrder(seed, epoch, n) itself, so
 * small uploads train exactly as they did before datasets were sharded.
 */
export function shardedEpochOrder(seed: number, epoch: number, n: number, samplesPerShard: number, blockShards = SHUFFLE_BLOCK_SHARDS): Uint32Array {
  if (!Number.isInteger(samplesPerShard) || samplesPerShard < 1) throw new RangeError(`samplesPerShard must be a positive integer, got ${samplesPerShard}`);
  const shards = Math.ceil(n / samplesPerShard);
  return groupedEpochOrder(seed, epoch, Array.from({ length: shards + 1 }, (_, k) => Math.min(n, k * samplesPerShard)), blockShards);
}

/**
 * The same order over samples 0..n-1 in groups of any size: group k holds samples
 * starts[k] ..< starts[k + 1], and n = starts.at(-1). The samples a job keeps of a sharded
 * dataset (dataset.classes) are grouped by the shard they are stored in.
 */
export function groupedEpochOrder(seed: number, epoch: number, starts: ArrayLike<number>, blockShards = SHUFFLE_BLOCK_SHARDS): Uint32Array {
  const shards = starts.length - 1;
  const n = shards >= 0 ? starts[shards]! : 0;
  for (let k = 0; k < shards; k++) if (!(starts[k]! <= starts[k + 1]!)) throw new RangeError(`group starts must not decrease; group ${k} starts at ${starts[k]}, the next at ${starts[k + 1]}`);
  if (shards <= 1) return epochOrder(seed, epoch, n);
  // A seed of its own for the shard order, so it is not the sample order of a small dataset.
  const shardOrder = epochOrder((seed ^ 0x3c6ef372) >>> 0, epoch, shards);
  const order = new Uint32Array(n);
  let at = 0;
  for (let block = 0; block * blockShards < shards; block++) {
    const start = at;
    for (let k = block * blockShards; k < Math.min(shards, (block + 1) * blockShards); k++) {
      const shard = shardOrder[k]!;
      for (let i = starts[shard]!; i < starts[shard + 1]!; i++) order[at++] = i;
    }
    const random = seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77) ^ Math.imul(block + 1, 0xc2b2ae3d)) >>> 0);
    for (let i = at - 1; i > start; i--) {
      const j = start + Math.floor(random() * (i - start + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  return order;
}
