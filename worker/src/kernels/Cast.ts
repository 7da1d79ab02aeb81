// Cast for wasm, replacing the backend's own, which copies even when the type does not change:
// every relu's gradient casts its float32 mask to float32 (dy * cast(step(x))), a full pass
// over the activations. A cast to the same type shares the memory, as Identity does (and as
// the cpu backend's Cast does). Its cast to bool wraps numbers modulo 256 (-2.5 becomes 254,
// 0.5 becomes 0): here any non-zero value becomes 1, as on cpu. Other conversions go to the
// backend's own kernel.
import { Cast, type CastAttrs, type CastInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replacedKernel } from './replaced-kernels.js';
import { wasmKernel } from './wasm-kernel.js';

function cast(inputs: CastInputs, backend: BackendWasm, attrs: CastAttrs): TensorInfo {
  const x = inputs.x as TensorInfo;
  if (x.dtype === attrs.dtype) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  if (attrs.dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
    const out = backend.makeOutput(x.shape, 'bool');
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  const own = replacedKernel(Cast, 'wasm');
  if (!own) throw new Error("wasm Cast: the backend's own kernel was not recorded");
  return own.kernelFunc({ inputs: { x }, backend, attrs: { dtype: attrs.dtype } }) as TensorInfo;
}

export const castConfig = wasmKernel(Cast, cast);
