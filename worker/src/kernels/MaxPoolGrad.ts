// MaxPoolGrad for wasm, replacing the backend's own, which starts each window's running maximum
// at FLT_MIN (the smallest positive float) instead of -infinity: a window whose values are all
// negative or zero (after batch normalization, a linear convolution, or relu's zeros) sends its
// gradient to element 0 of the tensor. Here, as on the cpu backend, the first maximum of each
// window receives it, and a window with no finite maximum none.
import { backend_util, MaxPoolGrad, type MaxPoolGradAttrs, type MaxPoolGradInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function maxPoolGrad(inputs: MaxPoolGradInputs, backend: BackendWasm, attrs: MaxPoolGradAttrs): TensorInfo {
  const dyInfo = inputs.dy as TensorInfo;
  const xInfo = inputs.input as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(xInfo.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, effectiveFilterHeight: FH, effectiveFilterWidth: FW } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const out = backend.makeOutput(xInfo.shape, 'float32');
  const scope = new HeapScope(backend);
  const x = scope.f32(xInfo);
  const dy = scope.f32(dyInfo);
  const dx = scope.f32(out);
  dx.fill(0);
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const iy0 = Math.max(0, oy * sh - pt);
      const iy1 = Math.min(H, oy * sh - pt + FH);
      for (let ox = 0; ox < OW; ox++) {
        const ix0 = Math.max(0, ox * sw - pl);
        const ix1 = Math.min(W, ox * sw - pl + FW);
        best.fill(-Infinity);
        at.fill(-1);
        for (let iy = iy0; iy < iy1; iy++) {
          for (let ix = ix0; ix < ix1; ix++) {
            const base = ((b * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const i = at[c]!;
          if (i >= 0) dx[i] = dx[i]! + dy[dyBase + c]!;
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig = wasmKernel(MaxPoolGrad, maxPoolGrad);
