// ResizeNearestNeighborGrad for wasm, replacing the backend's own, which ignores halfPixelCenters: the
// same scatter as on cpu and native, on the wasm heap.
import { ResizeNearestNeighborGrad, type ResizeNearestNeighborGradAttrs, type ResizeNearestNeighborGradInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nearestGrad } from './resize-grad.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function resizeNearestNeighborGrad(inputs: ResizeNearestNeighborGradInputs, backend: BackendWasm, attrs: ResizeNearestNeighborGradAttrs): TensorInfo {
  const images = inputs.images as TensorInfo;
  const dyInfo = inputs.dy as TensorInfo;
  const out = backend.makeOutput(images.shape, 'float32');
  const scope = new HeapScope(backend);
  const dx = scope.f32(out);
  dx.fill(0);
  nearestGrad(scope.f32(dyInfo), dx, { input: images.shape, output: dyInfo.shape }, attrs);
  return out;
}

export const resizeNearestNeighborGradConfig = wasmKernel(ResizeNearestNeighborGrad, resizeNearestNeighborGrad);
