// The gradient of bilinear resizing for backends that keep tensors in JS typed arrays (cpu,
// native). Replaces the cpu backend's, which gives its result the shape [batch, width, height,
// depth] (wrong unless the image is square) and ignores halfPixelCenters.
import { ResizeBilinearGrad } from '@tensorflow/tfjs';
import type { ResizeBilinearGradAttrs, ResizeBilinearGradInputs, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { cpuKernel } from './cpu-kernel.js';
import { bilinearGrad } from '../resize-grad.js';

function resizeBilinearGrad(inputs: ResizeBilinearGradInputs, backend: MathBackendCPU, attrs: ResizeBilinearGradAttrs): TensorInfo {
  const images = inputs.images as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const dx = new Float32Array(images.shape.reduce((a, b) => a * b, 1));
  bilinearGrad(backend.data.get(dy.dataId).values as Float32Array, dx, { input: images.shape, output: dy.shape }, attrs);
  return backend.makeTensorInfo(images.shape, 'float32', dx);
}

export const resizeBilinearGradConfig = cpuKernel(ResizeBilinearGrad, resizeBilinearGrad);
