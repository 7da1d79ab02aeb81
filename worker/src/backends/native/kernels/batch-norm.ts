// FusedBatchNorm's forward (batch normalization in training and inference): the cpu kernel loops
// in JavaScript over every element with a square root each. Native when each parameter has one
// value per channel (the last axis) or one for all, as batch-norm layers give it; other
// broadcasts go to the cpu kernel.
import type { TensorInfo } from '@tensorflow/tfjs';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

interface Inputs {
  x: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  scale?: TensorInfo;
  offset?: TensorInfo;
}

const ONE = new Float32Array([1]);
const ZERO = new Float32Array([0]);

export const fusedBatchNormConfig = nativeKernel<Inputs, { varianceEpsilon?: number | null }>('FusedBatchNorm', (inputs, backend, attrs) => {
  const { x, mean, variance, scale, offset } = inputs;
  const rank = x.shape.length;
  const channels = rank === 0 ? 1 : x.shape[rank - 1]!;
  const params = [mean, variance, scale, offset].filter((p): p is TensorInfo => p !== undefined);
  // The cpu kernel checks that the parameters' ranks agree; it also gets every other case.
  const perChannel = (p: TensorInfo) => { const n = p.shape.reduce((a, b) => a * b, 1); return n === 1 || n === channels; };
  if (!isFloat(backend, x, ...params) || channels === 0 || params.some((p) => p.shape.length !== mean.shape.length || !perChannel(p))) return undefined;
  const out = output(backend, x.shape);
  if (out.values.length > 0) {
    backend.addon.batchNorm(f32(backend, x), f32(backend, mean), f32(backend, variance), scale ? f32(backend, scale) : ONE, offset ? f32(backend, offset) : ZERO, attrs.varianceEpsilon ?? 0.001, out.values, channels);
  }
  return out.info;
});
