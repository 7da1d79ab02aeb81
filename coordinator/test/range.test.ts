// Range headers as RFC 9110 reads them: one range served, anything else whole or 416.
import test from 'ava';
import { parseRange } from '../src/registry/range.js';

test('single ranges: first-last, open-ended, suffix; clamped to the size', (t) => {
  t.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'range', start: 0, end: 99 });
  t.deepEqual(parseRange('bytes=900-', 1000), { kind: 'range', start: 900, end: 999 });
  t.deepEqual(parseRange('bytes=-100', 1000), { kind: 'range', start: 900, end: 999 });
  t.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'range', start: 0, end: 999 });
  t.deepEqual(parseRange('bytes=990-5000', 1000), { kind: 'range', start: 990, end: 999 });
  t.deepEqual(parseRange(' bytes=5-5 ', 1000), { kind: 'range', start: 5, end: 5 });
});

test('no header, other units, lists, reversed or malformed ranges are answered whole', (t) => {
  for (const header of [undefined, 'items=0-1', 'bytes=0-1,5-6', 'bytes=10-5', 'bytes=-', 'bytes=a-b', 'bytes 0-1']) {
    t.deepEqual(parseRange(header, 1000), { kind: 'whole' }, String(header));
  }
});

test('a start past the end, or an empty suffix, cannot be satisfied', (t) => {
  t.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange('bytes=-10', 0), { kind: 'unsatisfiable' });
});
