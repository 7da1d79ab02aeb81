import test from 'ava';
import fc from 'fast-check';
import { epochOrder, splitBatch, stepSlice, stepsPerEpoch } from '../src/plan.js';
import { SHUFFLE_BLOCK_SHARDS, shardedEpochOrder } from '../src/shard-order.js';

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
