// Sum over a contiguous run of axes (bias gradients, losses, batch statistics), summed in
// float64 as the cpu kernel does; other axis sets and other dtypes go to the cpu kernel.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

export const sumConfig = nativeKernel<{ x: TensorInfo }, { axis: number | number[]; keepDims: boolean }>('Sum', ({ x }, backend, attrs) => {
  if (!isFloat(backend, x)) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  // Unit axes do not change the layout: only the others must be contiguous.
  const real = axes.filter((a) => x.shape[a] !== 1);
  const first = real[0] ?? 0;
  const last = real[real.length - 1] ?? -1;
  for (let a = first; a <= last; a++) if (!axes.includes(a) && x.shape[a] !== 1) return undefined;
  const size = (from: number, to: number) => x.shape.slice(from, to).reduce((p, q) => p * q, 1);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const out = output(backend, outShape);
  backend.addon.sumMiddle(f32(backend, x), out.values, size(0, first), size(first, last + 1), size(last + 1, x.shape.length));
  return out.info;
});
