// ResizeBilinearGrad for wasm, replacing the backend's own: the
// same scatter as on cpu and native, on the wasm heap.
import { ResizeBilinearGrad, type ResizeBilinearGradAttrs, type ResizeBilinearGradInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { bilinearGrad } from './resize-grad.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function resizeBilinearGrad(inputs: ResizeBilinearGradInputs, backend: BackendWasm, attrs: ResizeBilinearGradAttrs): TensorInfo {
  const images = inputs.images as TensorInfo;
  const dyInfo = inputs.dy as TensorInfo;
  const out = backend.makeOutput(images.shape, 'float32');
  const scope = new HeapScope(backend);
  const dx = scope.f32(out);
  dx.fill(0);
  bilinearGrad(scope.f32(dyInfo), dx, { input: images.shape, output: dyInfo.shape }, attrs);
  return out;
}

export const resizeBilinearGradConfig = wasmKernel(ResizeBilinearGrad, resizeBilinearGrad);
