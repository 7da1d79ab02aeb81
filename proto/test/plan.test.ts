import test from 'ava';
import fc from 'fast-check';
import { epochOrder, splitBatch, stepSlice, stepsPerEpoch } from '../src/plan.js';
import { SHUFFLE_BLOCK_SHARDS, groupedEpochOrder, shardedEpochOrder } from '../src/shard-order.js';

test('epochOrder is a permutation, fixed by (seed, epoch), different across epochs', (t) => {
  const a = epochOrder(7, 0, 1000);
  t.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  t.deepEqual(a, epochOrder(7, 0, 1000));
  t.notDeepEqual(a, epochOrder(7, 1, 1000));
  t.notDeepEqual(a, epochOrder(8, 0, 1000));
});

test('splitBatch sums to the batch and follows the shares', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 16 }), (batch, shares) => {
      const counts = splitBatch(batch, shares);
      const total = shares.reduce((a, b) => a + b, 0);
      return (
        counts.reduce((a, b) => a + b, 0) === batch &&
        counts.every((c, i) => Math.abs(c - (batch * shares[i]!) / total) < 1)
      );
    }),
  );
  t.deepEqual(splitBatch(10, [1, 1, 1]), [4, 3, 3]);
  t.deepEqual(splitBatch(10, [3, 1]), [8, 2]);
  t.throws(() => splitBatch(10, []));
});

test('the ranks of a step cover its global batch exactly once', (t) => {
  const n = 1003;
  const batchSize = 64;
  const shares = [1, 2, 1];
  for (const step of [0, 5, stepsPerEpoch(n, batchSize) - 1, stepsPerEpoch(n, batchSize)]) {
    const slices = shares.map((_, rank) => stepSlice({ seed: 3, n, batchSize, shares, rank, step }));
    const covered = slices.flatMap((s) => [...s.indices]).sort((a, b) => a - b);
    const perEpoch = stepsPerEpoch(n, batchSize);
    const order = epochOrder(3, Math.floor(step / perEpoch), n);
    const start = (step % perEpoch) * batchSize;
    const expected = [...order.slice(start, Math.min(n, start + batchSize))].sort((a, b) => a - b);
    t.deepEqual(covered, expected);
    t.is(slices[0]!.globalCount, expected.length);
  }
});

test('shardedEpochOrder is a permutation fixed by (seed, epoch), local to blocks of shards, and epochOrder for one shard', (t) => {
  const n = 1003;
  const perShard = 50;
  const a = shardedEpochOrder(5, 0, n, perShard);
  t.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  t.deepEqual(a, shardedEpochOrder(5, 0, n, perShard));
  t.notDeepEqual(a, shardedEpochOrder(5, 1, n, perShard));
  t.notDeepEqual(a, shardedEpochOrder(6, 0, n, perShard));
  // Each stretch of SHUFFLE_BLOCK_SHARDS shards' samples draws from that many shards at most.
  const full = shardedEpochOrder(5, 0, 1000, perShard);
  for (let start = 0; start < 1000; start += SHUFFLE_BLOCK_SHARDS * perShard) {
    const shards = new Set(Array.from(full.subarray(start, start + SHUFFLE_BLOCK_SHARDS * perShard), (i) => Math.floor(i / perShard)));
    t.true(shards.size <= SHUFFLE_BLOCK_SHARDS);
  }
  // Samples are mixed across shards within a block, not visited shard by shard.
  t.true(new Set(Array.from(a.subarray(0, 20), (i) => Math.floor(i / perShard))).size > 1);
  t.deepEqual(shardedEpochOrder(5, 2, 40, 50), epochOrder(5, 2, 40));
});

test('groupedEpochOrder: groups of any size (the kept samples of each shard), visited like shards', (t) => {
  // 9 groups of 0 to 60 samples.
  const sizes = [13, 0, 60, 7, 41, 1, 22, 35, 9];
  const starts = sizes.reduce((s, size) => [...s, s.at(-1)! + size], [0]);
  const n = starts.at(-1)!;
  const group = (i: number) => starts.findIndex((s, k) => i >= s && i < starts[k + 1]!);
  const a = groupedEpochOrder(3, 1, starts);
  t.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  t.deepEqual(a, groupedEpochOrder(3, 1, starts));
  t.notDeepEqual(a, groupedEpochOrder(3, 2, starts));
  // Block by block, whole groups, SHUFFLE_BLOCK_SHARDS at most: a block ends where every group
  // seen in it has had all its samples.
  const blocks: number[][] = [];
  let block = new Set<number>();
  let left = 0;
  for (const i of a) {
    const g = group(i);
    if (!block.has(g)) (block.add(g), (left += sizes[g]!));
    if (--left === 0) (blocks.push([...block]), (block = new Set()));
  }
  t.is(left, 0);
  t.true(blocks.length > 1 && blocks.every((b) => b.length <= SHUFFLE_BLOCK_SHARDS), JSON.stringify(blocks));
  t.deepEqual(groupedEpochOrder(3, 1, [0, 50]), epochOrder(3, 1, 50), 'one group: epochOrder');
  t.deepEqual(groupedEpochOrder(3, 1, [0, 50, 100]).length, 100);
  t.deepEqual(shardedEpochOrder(5, 0, 1003, 50), groupedEpochOrder(5, 0, Array.from({ length: 22 }, (_, k) => Math.min(1003, k * 50))));
  t.throws(() => groupedEpochOrder(3, 1, [0, 10, 5]), { message: /group starts must not decrease/ });
});
