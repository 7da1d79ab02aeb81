// A replica's whole training state as bytes: completed steps, every model variable and every
// optimizer's state (by position, so it restores on any process whatever its variable names),
// and the early-stopping state (training.earlyStopping) when the job has one.
//
//   uint32 header length (little-endian), then the JSON header, then float32 values:
//   the weights, then each optimizer tensor in order.

import type { EarlyStoppingState } from './early-stopping.js';

export interface OptimizerTensor {
  shape: number[];
  values: Float32Array;
}

export interface ReplicaState {
  /** Completed steps. */
  step: number;
  weights: Float32Array;
  /** One list per optimizer (a GAN has two), each in the optimizer's own order. */
  optimizers: OptimizerTensor[][];
  earlyStopping?: EarlyStoppingState;
}

interface Header {
  format: 'syncline-checkpoint';
  version: 1;
  step: number;
  weights: number;
  optimizers: number[][][];
  earlyStopping?: EarlyStoppingState;
}

export function encodeState(state: ReplicaState): Uint8Array {
  const header: Header = {
    format: 'syncline-checkpoint',
    version: 1,
    step: state.step,
    weights: state.weights.length,
    optimizers: state.optimizers.map((o) => o.map((t) => t.shape)),
    ...(state.earlyStopping ? { earlyStopping: state.earlyStopping } : {}),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const floats = state.weights.length + state.optimizers.flat().reduce((n, t) => n + t.values.length, 0);
  const start = 4 + json.length + ((4 - ((4 + json.length) % 4)) % 4);
  const bytes = new Uint8Array(start + floats * 4);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  const out = new Float32Array(bytes.buffer, start, floats);
  out.set(state.weights, 0);
  let at = state.weights.length;
  for (const t of state.optimizers.flat()) {
    out.set(t.values, at);
    at += t.values.length;
  }
  return bytes;
}

export function decodeState(bytes: Uint8Array): ReplicaState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as Header;
  if (header.format !== 'syncline-checkpoint' || header.version !== 1) throw new Error('not a Syncline checkpoint (version 1)');
  const start = 4 + length + ((4 - ((4 + length) % 4)) % 4);
  // Copy: the bytes may not be 4-byte aligned in their buffer. (Not with slice(): on a Node Buffer,
  // which NATS hands out, slice() is a view of the whole underlying buffer, not a copy.)
  const floats = new Float32Array(new Uint8Array(bytes.subarray(start)).buffer);
  let at = 0;
  const take = (n: number) => {
    if (at + n > floats.length) throw new Error('checkpoint is truncated');
    const v = floats.slice(at, at + n);
    at += n;
    return v;
  };
  const weights = take(header.weights);
  const optimizers = header.optimizers.map((shapes) => shapes.map((shape) => ({ shape, values: take(shape.reduce((a, b) => a * b, 1)) })));
  return { step: header.step, weights, optimizers, ...(header.earlyStopping ? { earlyStopping: header.earlyStopping } : {}) };
}
