// The gradient of nearest-neighbour resizing for backends that keep tensors in JS typed arrays
// (cpu, native). Replaces the cpu backend's, which reads dy at the input's batch offset and so
// is wrong for every batch element after the first.
import { ResizeNearestNeighborGrad } from '@tensorflow/tfjs';
import type { ResizeNearestNeighborGradAttrs, ResizeNearestNeighborGradInputs, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { cpuKernel } from './cpu-kernel.js';
import { nearestGrad } from '../resize-grad.js';

function resizeNearestNeighborGrad(inputs: ResizeNearestNeighborGradInputs, backend: MathBackendCPU, attrs: ResizeNearestNeighborGradAttrs): TensorInfo {
  const images = inputs.images as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const dx = new Float32Array(images.shape.reduce((a, b) => a * b, 1));
  nearestGrad(backend.data.get(dy.dataId).values as Float32Array, dx, { input: images.shape, output: dy.shape }, attrs);
  return backend.makeTensorInfo(images.shape, 'float32', dx);
}

export const resizeNearestNeighborGradConfig = cpuKernel(ResizeNearestNeighborGrad, resizeNearestNeighborGrad);
