// Identity for wasm, replacing the backend's own, which copies the tensor: the engine clones
// every tensor a gradient function saves, so each training step copied its activations once
// more. Tensor memory is never written after a kernel returns, so sharing it is safe (Reshape
// shares it the same way, and the cpu backend's Identity does too).
import { Identity, type IdentityInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmKernel } from './wasm-kernel.js';

function identity(inputs: IdentityInputs, backend: BackendWasm): TensorInfo {
  const x = inputs.x as TensorInfo;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig = wasmKernel(Identity, identity);
