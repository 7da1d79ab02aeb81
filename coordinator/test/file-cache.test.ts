// The registry's file cache: one read per file however many ask at once, bounded by bytes with
// the least recently used file going first, and files larger than the bound served but not kept.
import test from 'ava';
import { FileCache } from '../src/registry/file-cache.js';

function counted(size: number) {
  const reads = { n: 0 };
  return { reads, read: async () => ((reads.n += 1), new Uint8Array(size).fill(7)) };
}

test('concurrent first reads share one store read; later reads none', async (t) => {
  const cache = new FileCache(1000);
  const { reads, read } = counted(100);
  const files = await Promise.all([1, 2, 3].map(() => cache.get('a', read)));
  t.is(reads.n, 1);
  t.true(files.every((f) => f?.body.length === 100 && f.etag === files[0]!.etag));
  await cache.get('a', read);
  t.is(reads.n, 1);
});

test('bounded by bytes: the least recently used goes; too large or a zero bound keeps nothing', async (t) => {
  const cache = new FileCache(250);
  const a = counted(100);
  const b = counted(100);
  const c = counted(100);
  await cache.get('a', a.read);
  await cache.get('b', b.read);
  await cache.get('a', a.read);
  await cache.get('c', c.read);
  t.true(cache.size <= 250);
  await cache.get('a', a.read);
  await cache.get('b', b.read);
  t.deepEqual([a.reads.n, b.reads.n], [1, 2], 'b was the least recently used');
  const big = counted(300);
  t.is((await cache.get('big', big.read))?.body.length, 300);
  await cache.get('big', big.read);
  t.is(big.reads.n, 2);
  const none = new FileCache(0);
  const d = counted(10);
  await none.get('d', d.read);
  await none.get('d', d.read);
  t.is(d.reads.n, 2);
  t.is(await cache.get('missing', async () => undefined), undefined);
});
