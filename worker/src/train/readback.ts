// Reading tensors back into flat host buffers. On a GPU backend every read waits for the queue
// and maps a staging buffer, so a step concatenates what it reads on the device and reads it
// once, straight into the fusion buffer; on the CPU backends each tensor is read where it lies
// (no concatenation, no extra copy).
import * as tf from '@tensorflow/tfjs';
import type { Stat, StepBuffer } from './step-buffer.js';

/** Whether reads go through a device queue (webgpu), where one read beats many. */
export function readsFromDevice(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** Copies `items` (tensors flattened, or numbers), one after another, into `into` from `at`. */
export async function readInto(items: readonly (tf.Tensor | number)[], into: Float32Array, at = 0): Promise<void> {
  if (readsFromDevice()) {
    if (items.length === 0) return;
    const flat = tf.tidy(() => tf.concat(items.map((t) => (typeof t === 'number' ? tf.tensor1d([t]) : tf.reshape(tf.cast(t, 'float32'), [-1])))));
    try {
      into.set((await flat.data()) as Float32Array, at);
    } finally {
      flat.dispose();
    }
    return;
  }
  let offset = at;
  for (const t of items) {
    if (typeof t === 'number') {
      into[offset++] = t;
    } else {
      into.set(t.dataSync(), offset);
      offset += t.size;
    }
  }
}

/**
 * Reads one phase's gradients (in variable order) and statistics into `buffer`, in one read on
 * a GPU. The layout puts the statistics right after the gradients, in its own order.
 */
export async function readStep(buffer: StepBuffer, gradients: readonly tf.Tensor[], stats: Partial<Record<Stat, tf.Tensor | number>>): Promise<void> {
  const { statistics, gradients: length } = buffer.layout.phase;
  const size = gradients.reduce((n, g) => n + g.size, 0);
  if (size !== length) throw new Error(`gradients of ${size} elements for a phase of ${length}`);
  const values = statistics.map((stat, i) => {
    if (buffer.layout.indexOf(stat) !== length + i) throw new Error(`statistic ${stat} does not follow the gradients`);
    const value = stats[stat];
    if (value === undefined) throw new Error(`no value for statistic ${stat}`);
    return value;
  });
  await readInto([...gradients, ...values], buffer.data);
}
