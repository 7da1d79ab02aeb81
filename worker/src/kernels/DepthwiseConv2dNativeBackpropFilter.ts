// DepthwiseConv2dNativeBackpropFilter for wasm, which has none (depthwise and separable
// convolutions cannot train there without it). Each filter tap of each channel is a dot
// product over batch and output pixels; loops run channels innermost, contiguous in NHWC.
// Its work is one forward pass's, a ninth of a dense convolution's or less.
import { DepthwiseConv2dNativeBackpropFilter, type DepthwiseConv2dNativeBackpropFilterAttrs, type DepthwiseConv2dNativeBackpropFilterInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nhwcConvInfo } from './conv-info.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function depthwiseConv2dNativeBackpropFilter(
  inputs: DepthwiseConv2dNativeBackpropFilterInputs,
  backend: BackendWasm,
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs,
): TensorInfo {
  const xInfo = inputs.x as TensorInfo;
  const dyInfo = inputs.dy as TensorInfo;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = nhwcConvInfo(DepthwiseConv2dNativeBackpropFilter, xInfo.shape, filterShape, strides, dilations, pad, dimRoundingMode, true, 'NHWC');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: FH, filterWidth: FW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const cm = CO / CI;

  const out = backend.makeOutput(filterShape, 'float32');
  const scope = new HeapScope(backend);
  const x = scope.f32(xInfo);
  const dy = scope.f32(dyInfo);
  const dW = scope.f32(out);
  dW.fill(0);
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
              for (let c = 0; c < CI; c++) dW[wAt + c] = dW[wAt + c]! + x[xAt + c]! * dy[dyAt + c]!;
            } else {
              for (let c = 0; c < CI; c++) {
                const xv = x[xAt + c]!;
                for (let q = c * cm; q < (c + 1) * cm; q++) dW[wAt + q] = dW[wAt + q]! + xv * dy[dyAt + q]!;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

export const depthwiseConv2dNativeBackpropFilterConfig = wasmKernel(DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropFilter);
