// Sum and Mean over a contiguous run of axes (bias gradients, losses, batch statistics: batch
// norm's moments are means over every axis but the channels), summed in float64 as the cpu
// kernel does; other axis sets and other dtypes go to the cpu kernel. The cpu Mean transposes
// the reduced axes last first, which made batch norm's moments most of a DCGAN step.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

type ReduceAttrs = { axis: number | number[]; keepDims: boolean };

/** The sum of `x` over `attrs.axis`, times `scale` (1 / count for a mean); undefined where the axes are not contiguous. */
function reduceContiguous(x: TensorInfo, backend: NativeBackend, attrs: ReduceAttrs, mean: boolean): TensorInfo | undefined {
  if (!isFloat(backend, x)) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  // Unit axes do not change the layout: only the others must be contiguous.
  const real = axes.filter((a) => x.shape[a] !== 1);
  const first = real[0] ?? 0;
  const last = real[real.length - 1] ?? -1;
  for (let a = first; a <= last; a++) if (!axes.includes(a) && x.shape[a] !== 1) return undefined;
  const size = (from: number, to: number) => x.shape.slice(from, to).reduce((p, q) => p * q, 1);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const reduced = size(first, last + 1);
  // The mean of nothing is NaN (0 / 0), as on cpu: left to it.
  if (mean && reduced === 0) return undefined;
  const out = output(backend, outShape);
  backend.addon.sumMiddle(f32(backend, x), out.values, size(0, first), reduced, size(last + 1, x.shape.length));
  if (mean && reduced !== 1) for (let i = 0; i < out.values.length; i++) out.values[i] = out.values[i]! / reduced;
  return out.info;
}

export const sumConfig = nativeKernel<{ x: TensorInfo }, ReduceAttrs>('Sum', ({ x }, backend, attrs) => reduceContiguous(x, backend, attrs, false));

export const meanConfig = nativeKernel<{ x: TensorInfo }, ReduceAttrs>('Mean', ({ x }, backend, attrs) => reduceContiguous(x, backend, attrs, true));
