// Running one kernel on a backend and comparing it with the cpu backend's: what the kernel
// tests of every backend share. Callers run serially (each call switches the global backend).
import * as tf from '@tensorflow/tfjs';

export interface Input {
  values: Float32Array | Int32Array;
  shape: number[];
}

export const TOLERANCE = 1e-5;

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs one kernel on a backend; returns the output's values and shape. */
export async function runOn(backend: string, kernel: string, inputs: Record<string, Input>, attrs: tf.NamedAttrMap): Promise<Input> {
  await tf.setBackend(backend);
  const tensors: tf.NamedTensorMap = {};
  for (const [name, { values, shape }] of Object.entries(inputs)) tensors[name] = tf.tensor(values, shape, values instanceof Int32Array ? 'int32' : 'float32');
  try {
    const out = tf.engine().runKernel(kernel, tensors, attrs) as tf.Tensor;
    // data(), not dataSync(): a GPU backend reads back asynchronously.
    const result = { values: (await out.data()) as Float32Array | Int32Array, shape: out.shape };
    out.dispose();
    return result;
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/**
 * Max |backend - cpu| relative to the larger of 1 and max |cpu|; a string when shapes differ.
 * NaN where cpu has NaN counts as agreement.
 */
export function discrepancyOn(backend: string) {
  return async (kernel: string, inputs: Record<string, Input>, attrs: tf.NamedAttrMap): Promise<number | string> => {
    const cpu = await runOn('cpu', kernel, inputs, attrs);
    const other = await runOn(backend, kernel, inputs, attrs);
    if (cpu.shape.join() !== other.shape.join()) return `shape ${other.shape} instead of ${cpu.shape}`;
    let scale = 1;
    for (const v of cpu.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < cpu.values.length; i++) {
      const [c, o] = [cpu.values[i]!, other.values[i]!];
      if (Number.isNaN(c) && Number.isNaN(o)) continue;
      if (c === o) continue;
      const d = Math.abs(c - o);
      worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
    }
    return worst / scale;
  };
}

/** Deterministic values in [-1, 1) from a seed (fast-check picks the seed). */
export function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Small integers in [-3, 0]: ties, and windows with no positive value, everywhere. */
export function tiedNonPositive(size: number, seed: number): Float32Array {
  return values(size, seed).map((v) => Math.floor(v * 2) - 1);
}
