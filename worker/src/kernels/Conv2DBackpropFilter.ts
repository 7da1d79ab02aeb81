// Conv2DBackpropFilter for wasm, which has none (a Keras CNN cannot train there without it).
// dW[fh, fw, ci, co] = sum over output pixels of patch[pixel][fh, fw, ci] * dy[pixel][co]: per
// chunk of output rows, the transposed patch matrix [FH*FW*CI, pixels] times the chunk's rows of
// dy [pixels, CO] (a view, no copy) on XNNPACK's GEMM, summed over chunks.
import { Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type Conv2DBackpropFilterInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nhwcConvInfo } from './conv-info.js';
import { gemm } from './gemm.js';
import { im2colTransposed, rowsPerChunk } from './im2col.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function conv2DBackpropFilter(inputs: Conv2DBackpropFilterInputs, backend: BackendWasm, attrs: Conv2DBackpropFilterAttrs): TensorInfo {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const info = nhwcConvInfo(Conv2DBackpropFilter, x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, dataFormat);
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const rows = info.batchSize * info.outHeight;
  const chunkRows = Math.min(rows, rowsPerChunk(info, patch));

  const out = backend.makeOutput(filterShape, 'float32');
  const scope = new HeapScope(backend);
  try {
    if (rows * info.outWidth === 0) {
      scope.f32(out).fill(0);
      return out;
    }
    const cols = scope.alloc([patch, chunkRows * info.outWidth]);
    const partial = rows > chunkRows ? scope.alloc([patch, co]) : out;
    for (let row0 = 0; row0 < rows; row0 += chunkRows) {
      const row1 = Math.min(rows, row0 + chunkRows);
      const pixels = (row1 - row0) * info.outWidth;
      const colsChunk = row1 - row0 === chunkRows ? cols : scope.view(cols, 0, [patch, pixels]);
      const dyChunk = scope.view(dy, row0 * info.outWidth * co, [pixels, co]);
      im2colTransposed(info, scope.f32(x), scope.f32(colsChunk), row0, row1);
      gemm(scope, colsChunk, dyChunk, row0 === 0 ? out : partial, patch, pixels, co);
      if (row0 > 0) {
        const acc = scope.f32(out);
        const add = scope.f32(partial);
        for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + add[i]!;
      }
      scope.dropView(dyChunk);
      if (colsChunk !== cols) scope.dropView(colsChunk);
    }
    return out;
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    scope.release();
  }
}

export const conv2DBackpropFilterConfig = wasmKernel(Conv2DBackpropFilter, conv2DBackpropFilter);
