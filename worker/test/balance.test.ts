// The share balancer: every rank runs it on the same all-reduced numbers, so it must be
// deterministic; it moves work toward faster ranks and leaves balanced ranks alone.
import test from 'ava';
import { splitBatch } from '@syncline/proto';
import { ShareBalancer } from '../src/train/balance.js';

test('a rank three times slower gets about a quarter of the batch', (t) => {
  const b = new ShareBalancer([1, 1], { every: 5 });
  let changed = false;
  for (let i = 0; i < 5; i++) changed = b.observe([1, 3]) || changed;
  t.true(changed);
  t.deepEqual(b.shares, [750, 250]);
  t.deepEqual(splitBatch(64, b.shares), [48, 16]);
  t.deepEqual(b.speeds, [1000, 1000 / 3]);
});

test('equal speeds keep the shares; small gains are ignored', (t) => {
  const b = new ShareBalancer([1, 1, 1], { every: 4 });
  for (let i = 0; i < 8; i++) t.false(b.observe([2, 2, 2]));
  t.deepEqual(b.shares, [1, 1, 1]);
  const c = new ShareBalancer([1, 1], { every: 2, minGain: 0.05 });
  c.observe([1, 1.04]);
  t.false(c.observe([1, 1.04]));
  t.deepEqual(c.shares, [1, 1]);
});

test('decisions are a pure function of the observations (all ranks agree)', (t) => {
  const observations = Array.from({ length: 40 }, (_, i) => [1 + (i % 3) * 0.1, 2.5 - (i % 5) * 0.2, 0.7]);
  const run = () => {
    const b = new ShareBalancer([1, 1, 1]);
    return observations.map((o) => (b.observe(o), [...b.shares]));
  };
  t.deepEqual(run(), run());
});

test('a rank without samples in a step keeps its earlier estimate', (t) => {
  const b = new ShareBalancer([1, 1], { every: 2 });
  b.observe([1, 2]);
  b.observe([1, 2]);
  const before = [...b.shares];
  b.observe([1, 0]);
  b.observe([1, 0]);
  t.deepEqual(b.shares, before);
});
