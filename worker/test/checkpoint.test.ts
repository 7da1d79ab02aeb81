// Replica state as bytes: what encodeState writes, decodeState reads back exactly, also from a
// Node Buffer that is a view into a larger one (as message payloads from NATS are).
import test from 'ava';
import { decodeState, encodeState, type ReplicaState } from '../src/train/checkpoint.js';

const state: ReplicaState = {
  step: 42,
  weights: Float32Array.from({ length: 13 }, (_, i) => i / 7),
  optimizers: [[{ shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) }], [{ shape: [1], values: Float32Array.of(-0.5) }]],
};

test('round trip', (t) => {
  t.deepEqual(decodeState(encodeState(state)), state);
});

test('from a Buffer at an unaligned offset inside a larger buffer', (t) => {
  const bytes = encodeState(state);
  for (const offset of [1, 2, 3, 5]) {
    const pool = Buffer.alloc(offset + bytes.length + 7, 0xff);
    pool.set(bytes, offset);
    t.deepEqual(decodeState(pool.subarray(offset, offset + bytes.length)), state, `offset ${offset}`);
  }
});

test('the early-stopping state travels with the rest (training.earlyStopping)', (t) => {
  const withStopping: ReplicaState = { ...state, earlyStopping: { best: Math.fround(0.213), bestStep: 220, wait: 2, evaluatedStep: 300 } };
  t.deepEqual(decodeState(encodeState(withStopping)), withStopping);
  t.false('earlyStopping' in decodeState(encodeState(state)));
});
