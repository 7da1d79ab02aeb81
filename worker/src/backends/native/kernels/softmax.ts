// Softmax over the last axis (the cpu kernel runs it as five separate ops).
import type { TensorInfo } from '@tensorflow/tfjs';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

export const softmaxConfig = nativeKernel<{ logits: TensorInfo }, { dim: number }>('Softmax', ({ logits }, backend, attrs) => {
  const rank = logits.shape.length;
  if (!isFloat(backend, logits) || rank === 0 || (attrs.dim !== -1 && attrs.dim !== rank - 1)) return undefined;
  const cols = logits.shape[rank - 1]!;
  const out = output(backend, logits.shape);
  if (cols > 0) backend.addon.softmax(f32(backend, logits), out.values, out.values.length / cols, cols);
  return out.info;
});
