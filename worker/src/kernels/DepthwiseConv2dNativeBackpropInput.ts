// DepthwiseConv2dNativeBackpropInput for wasm, which has none. Each output pixel's gradient is
// spread back over the input pixels its taps read; loops run channels innermost, contiguous
// in NHWC. Its work is one forward pass's.
import { DepthwiseConv2dNativeBackpropInput, type DepthwiseConv2dNativeBackpropInputAttrs, type DepthwiseConv2dNativeBackpropInputInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nhwcConvInfo } from './conv-info.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function depthwiseConv2dNativeBackpropInput(
  inputs: DepthwiseConv2dNativeBackpropInputInputs,
  backend: BackendWasm,
  attrs: DepthwiseConv2dNativeBackpropInputAttrs,
): TensorInfo {
  const dyInfo = inputs.dy as TensorInfo;
  const filterInfo = inputs.filter as TensorInfo;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const info = nhwcConvInfo(DepthwiseConv2dNativeBackpropInput, inputShape, filterInfo.shape, strides, dilations, pad, dimRoundingMode, true, 'NHWC');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: FH, filterWidth: FW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const cm = CO / CI;

  const out = backend.makeOutput(inputShape, 'float32');
  const scope = new HeapScope(backend);
  const dy = scope.f32(dyInfo);
  const w = scope.f32(filterInfo);
  const dx = scope.f32(out);
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let fh = 0; fh < FH; fh++) {
        const iy = oy * sh - pt + fh * dh;
        if (iy < 0 || iy >= H) continue;
        for (let ox = 0; ox < OW; ox++) {
          const dyAt = ((b * OH + oy) * OW + ox) * CO;
          for (let fw = 0; fw < FW; fw++) {
            const ix = ox * sw - pl + fw * dw;
            if (ix < 0 || ix >= W) continue;
            const xAt = ((b * H + iy) * W + ix) * CI;
            const wAt = (fh * FW + fw) * CO;
            if (cm === 1) {
              for (let c = 0; c < CI; c++) dx[xAt + c] = dx[xAt + c]! + dy[dyAt + c]! * w[wAt + c]!;
            } else {
              for (let c = 0; c < CI; c++) {
                let sum = 0;
                for (let q = c * cm; q < (c + 1) * cm; q++) sum += dy[dyAt + q]! * w[wAt + q]!;
                dx[xAt + c] = dx[xAt + c]! + sum;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export const depthwiseConv2dNativeBackpropInputConfig = wasmKernel(DepthwiseConv2dNativeBackpropInput, depthwiseConv2dNativeBackpropInput);
