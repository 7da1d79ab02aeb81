// The worker's shard cache: least recently used out first, within its budget; prefetching
// loads only what fits without dropping a shard the coming steps need; a failed load is retried.
import test from 'ava';
import { ShardCache, type DecodedShard } from '../src/data/shard-cache.js';

const shard = (samples: number): DecodedShard => ({ x: new Float32Array(samples), y: new Float32Array(samples), samples });

function loader() {
  const loads: string[] = [];
  return { loads, load: (key: string) => async () => (loads.push(key), shard(1)) };
}

test('drops the least recently used shard to make room, and counts hits and misses', async (t) => {
  const cache = new ShardCache(300);
  const { loads, load } = loader();
  for (const key of ['a', 'b', 'c']) await cache.get(key, 100, load(key));
  await cache.get('a', 100, load('a'));
  await cache.get('d', 100, load('d'));
  await cache.get('a', 100, load('a'));
  await cache.get('b', 100, load('b'));
  t.deepEqual(loads, ['a', 'b', 'c', 'd', 'b']);
  t.like(cache.stats, { hits: 2, misses: 5, evictions: 2, peakBytes: 300 });
  t.is(cache.bytes, 300);
});

test('prefetching stops where it would drop a shard the coming steps need', async (t) => {
  const cache = new ShardCache(300);
  const { loads, load } = loader();
  await cache.get('old', 100, load('old'));
  cache.prefetch(['p', 'q', 'r', 's'].map((key) => ({ key, bytes: 100, load: load(key) })));
  await new Promise((r) => setImmediate(r));
  // 'old' makes room for 'r'; 's' would drop 'p', which is needed first: not loaded.
  t.deepEqual(loads, ['old', 'p', 'q', 'r']);
  t.is(cache.stats.prefetches, 3);
  await cache.get('p', 100, load('p'));
  t.is(cache.stats.hits, 1);
  t.true(cache.stats.peakBytes <= 300);
});

test('a shard larger than the budget is still served, and a failed load is tried again', async (t) => {
  const cache = new ShardCache(100);
  const big = await cache.get('big', 500, async () => shard(5));
  t.is(big.samples, 5);
  let attempts = 0;
  const flaky = async () => {
    attempts += 1;
    if (attempts === 1) throw new Error('object store unreachable');
    return shard(1);
  };
  await t.throwsAsync(cache.get('f', 50, flaky), { message: 'object store unreachable' });
  t.is((await cache.get('f', 50, flaky)).samples, 1);
  t.is(attempts, 2);
  t.throws(() => ShardCache.fromEnv({ SYNCLINE_DATASET_CACHE_BYTES: 'lots' }), { message: /SYNCLINE_DATASET_CACHE_BYTES/ });
});
