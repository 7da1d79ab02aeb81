// MaxPool, AvgPool and their gradients (2-D, NHWC), in the addon's loops.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';
import { geometry } from './geometry.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolInfo(x: TensorInfo | number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  const shape = (Array.isArray(x) ? x : x.shape) as [number, number, number, number];
  return tf.backend_util.computePool2DInfo(shape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

type Pool = 'maxPool' | 'avgPool';

const forward = (name: string, kind: Pool) =>
  nativeKernel<{ x: TensorInfo }, PoolAttrs>(name, ({ x }, backend: NativeBackend, attrs) => {
    if (!isFloat(backend, x) || x.shape.length !== 4) return undefined;
    const info = poolInfo(x, attrs);
    const out = output(backend, info.outShape);
    backend.addon[kind](geometry(info), f32(backend, x), out.values);
    return out.info;
  });

export const maxPoolConfig = forward('MaxPool', 'maxPool');
export const avgPoolConfig = forward('AvgPool', 'avgPool');

export const maxPoolGradConfig = nativeKernel<{ dy: TensorInfo; input: TensorInfo; output: TensorInfo }, PoolAttrs>('MaxPoolGrad', ({ dy, input }, backend, attrs) => {
  if (!isFloat(backend, dy, input) || input.shape.length !== 4) return undefined;
  const info = poolInfo(input, attrs);
  const out = output(backend, input.shape);
  backend.addon.maxPoolGrad(geometry(info), f32(backend, dy), f32(backend, input), out.values);
  return out.info;
});

export const avgPoolGradConfig = nativeKernel<{ dy: TensorInfo; input: TensorInfo }, PoolAttrs>('AvgPoolGrad', ({ dy, input }, backend, attrs) => {
  if (!isFloat(backend, dy) || input.shape.length !== 4) return undefined;
  const info = poolInfo(input, attrs);
  const out = output(backend, input.shape);
  backend.addon.avgPoolGrad(geometry(info), f32(backend, dy), out.values);
  return out.info;
});
