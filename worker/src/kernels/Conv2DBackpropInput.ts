// Conv2DBackpropInput for wasm, replacing the backend's own, a scalar loop at about 1.5
// GFLOP/s (the convolution itself runs at 25-30 on XNNPACK). With stride 1 the input gradient is
// itself a convolution: dy, padded by (filter - 1 - forward pad), with the filter rotated by
// 180 degrees and its channel axes swapped, on XNNPACK. Otherwise, per chunk of output rows,
// dpatches [pixels, FH*FW*CI] = dy rows [pixels, CO] (a view) times W^T [CO, FH*FW*CI] on
// XNNPACK's GEMM, and each patch gradient is added back where its patch came from.
import { Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type Conv2DBackpropInputInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nhwcConvInfo } from './conv-info.js';
import { gemm } from './gemm.js';
import { col2imAdd, rowsPerChunk, type ConvInfo } from './im2col.js';
import { transpose2d } from './transpose2d.js';
import { HeapScope } from './wasm-heap.js';
import { xnnConv2d } from './xnn-conv2d.js';
import { wasmKernel } from './wasm-kernel.js';

function conv2DBackpropInput(inputs: Conv2DBackpropInputInputs, backend: BackendWasm, attrs: Conv2DBackpropInputAttrs): TensorInfo {
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const info = nhwcConvInfo(Conv2DBackpropInput, inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, dataFormat);
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const rows = info.batchSize * info.outHeight;
  const chunkRows = Math.min(rows, rowsPerChunk(info, patch));

  const out = backend.makeOutput(inputShape, 'float32');
  const scope = new HeapScope(backend);
  try {
    if (rows * info.outWidth > 0 && patch > 0 && co > 0 && asConvolution(scope, info, dy, filter, out)) return out;
    scope.f32(out).fill(0);
    if (rows * info.outWidth === 0 || patch === 0 || co === 0) return out;
    const filterT = scope.alloc([co, patch]);
    transpose2d(scope.f32(filter), 0, co, scope.f32(filterT), 0, patch, patch, co);
    const dcols = scope.alloc([chunkRows * info.outWidth, patch]);
    for (let row0 = 0; row0 < rows; row0 += chunkRows) {
      const row1 = Math.min(rows, row0 + chunkRows);
      const pixels = (row1 - row0) * info.outWidth;
      const dcolsChunk = row1 - row0 === chunkRows ? dcols : scope.view(dcols, 0, [pixels, patch]);
      const dyChunk = scope.view(dy, row0 * info.outWidth * co, [pixels, co]);
      gemm(scope, dyChunk, filterT, dcolsChunk, pixels, co, patch);
      col2imAdd(info, scope.f32(dcolsChunk), scope.f32(out), row0, row1);
      scope.dropView(dyChunk);
      if (dcolsChunk !== dcols) scope.dropView(dcolsChunk);
    }
    return out;
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    scope.release();
  }
}

/** The stride-1 case as one XNNPACK convolution; false where the paddings do not allow it. */
function asConvolution(scope: HeapScope, info: ConvInfo, dy: TensorInfo, filter: TensorInfo, out: TensorInfo): boolean {
  const { filterHeight: FH, filterWidth: FW, inChannels: CI, outChannels: CO } = info;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return false;
  const top = FH - 1 - info.padInfo.top;
  const left = FW - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight + info.padInfo.top;
  const right = info.inWidth - info.outWidth + info.padInfo.left;
  if (![top, bottom].every((p) => p >= 0 && p < FH) || ![left, right].every((p) => p >= 0 && p < FW)) return false;
  // rotated[fh, fw, co, ci] = filter[FH-1-fh, FW-1-fw, ci, co]: one [CI, CO] transpose per tap.
  const rotated = scope.alloc([FH, FW, CO, CI]);
  const src = scope.f32(filter);
  const dst = scope.f32(rotated);
  for (let tap = 0; tap < FH * FW; tap++) transpose2d(src, (FH * FW - 1 - tap) * CI * CO, CO, dst, tap * CO * CI, CI, CI, CO);
  xnnConv2d(scope, dy, rotated, out, {
    batch: info.batchSize,
    inHeight: info.outHeight,
    inWidth: info.outWidth,
    inChannels: CO,
    filterHeight: FH,
    filterWidth: FW,
    outChannels: CI,
    pads: [top, right, bottom, left],
  });
  return true;
}

export const conv2DBackpropInputConfig = wasmKernel(Conv2DBackpropInput, conv2DBackpropInput);
