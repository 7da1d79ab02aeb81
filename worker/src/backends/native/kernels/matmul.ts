// BatchMatMul and _FusedMatMul (bias and activation applied by the addon to each block of the
// product while it is in cache) on OpenBLAS, transposes included. Batches must match or one side
// must be a single matrix; other broadcasts, prelu and unusual biases go to the cpu kernel.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { Activation } from '../addon.js';
import type { NativeBackend } from '../backend.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

interface MatMulInputs {
  a: TensorInfo;
  b: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

function product(inputs: MatMulInputs, backend: NativeBackend, attrs: MatMulAttrs): TensorInfo | undefined {
  const { a, b, bias } = inputs;
  const activation = attrs.activation ?? 'linear';
  const code = Activation[activation as keyof typeof Activation];
  if (code === undefined || inputs.preluActivationWeights || !isFloat(backend, a, b, bias)) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = attrs.transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = attrs.transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = attrs.transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = attrs.transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return undefined;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (tf.util.sizeFromShape(outBatch) !== Math.max(batchA, batchB)) return undefined;
  // A bias adds one value per output column; anything else is left to the cpu kernel.
  if (bias && (bias.shape[bias.shape.length - 1] !== n || bias.shape.slice(0, -1).some((d) => d !== 1))) return undefined;
  const out = output(backend, [...outBatch, m, n]);
  backend.addon.gemm(
    f32(backend, a),
    f32(backend, b),
    out.values,
    Math.max(batchA, batchB),
    m,
    n,
    k,
    attrs.transposeA,
    attrs.transposeB,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
    bias ? f32(backend, bias) : null,
    code,
    attrs.leakyreluAlpha ?? 0.2,
  );
  return out.info;
}

export const batchMatMulConfig = nativeKernel<MatMulInputs, MatMulAttrs>('BatchMatMul', product);
export const fusedMatMulConfig = nativeKernel<MatMulInputs, MatMulAttrs>('_FusedMatMul', product);
