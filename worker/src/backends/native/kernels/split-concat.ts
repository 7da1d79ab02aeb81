// SplitV and Concat along any axis as row copies (a recurrent cell splits its gates and
// concatenates inputs every time step; the cpu backend copies those element by element).
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

const product = (xs: number[]) => xs.reduce((p, q) => p * q, 1);

export const splitVConfig = nativeKernel<{ x: TensorInfo }, { numOrSizeSplits: number | number[]; axis: number }>('SplitV', ({ x }, backend, attrs) => {
  if (!isFloat(backend, x) || x.shape.length === 0) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
  const outer = product(x.shape.slice(0, axis));
  const inner = product(x.shape.slice(axis + 1));
  const stride = x.shape[axis]! * inner;
  const src = f32(backend, x);
  let offset = 0;
  return sizes.map((s) => {
    const shape = x.shape.map((d, i) => (i === axis ? s : d));
    const out = output(backend, shape);
    if (out.values.length > 0) backend.addon.copyRows(src, offset * inner, stride, out.values, 0, s * inner, outer, s * inner);
    offset += s;
    return out.info;
  });
});

export const concatConfig = nativeKernel<TensorInfo[], { axis: number }>('Concat', (inputs, backend, attrs) => {
  const tensors = Object.values(inputs).filter((t) => t.shape.length > 0);
  if (tensors.length < 2 || !isFloat(backend, ...tensors)) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis, tensors[0]!.shape)[0]!;
  const shape = tf.backend_util.computeOutShape(tensors.map((t) => t.shape), axis);
  const outer = product(shape.slice(0, axis));
  const inner = product(shape.slice(axis + 1));
  const stride = shape[axis]! * inner;
  const out = output(backend, shape);
  let offset = 0;
  for (const t of tensors) {
    const length = t.shape[axis]! * inner;
    if (length > 0 && outer > 0) backend.addon.copyRows(f32(backend, t), 0, length, out.values, offset * inner, stride, outer, length);
    offset += t.shape[axis]!;
  }
  return out.info;
});
