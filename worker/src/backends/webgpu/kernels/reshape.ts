// Our programs write C as [batch, M, N]; a kernel returns it in its op's shape, through TF.js's
// Reshape kernel, which shares the buffer and counts the reference.
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export function reshapeOutput(gpu: WebGPUBackend, out: TensorInfo, shape: number[]): TensorInfo {
  if (out.shape.length === shape.length && out.shape.every((d, i) => d === shape[i])) return out;
  const reshape = tf.getKernel(tf.Reshape, 'webgpu');
  if (!reshape) throw new Error('the webgpu backend has no Reshape kernel');
  const result = reshape.kernelFunc({ inputs: { x: out }, backend: gpu, attrs: { shape } }) as TensorInfo;
  gpu.disposeData(out.dataId);
  return result;
}
