// UnsortedSegmentSum for wasm, which has none: the gradient of a gather, so of every Embedding
// layer (RNN, LSTM and GRU text models). One pass over x, adding each row into its segment;
// ids outside [0, numSegments) are dropped, as TensorFlow does.
import { UnsortedSegmentSum, util, type TensorInfo, type UnsortedSegmentSumAttrs, type UnsortedSegmentSumInputs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

function unsortedSegmentSum(inputs: UnsortedSegmentSumInputs, backend: BackendWasm, attrs: UnsortedSegmentSumAttrs): TensorInfo {
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const { numSegments } = attrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`wasm UnsortedSegmentSum supports float32 and int32, not ${x.dtype}`);
  if (segmentIds.dtype !== 'int32') throw new Error(`wasm UnsortedSegmentSum needs int32 segment ids, not ${segmentIds.dtype}`);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const row = util.sizeFromShape(rowShape);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  const scope = new HeapScope(backend);
  const ids = scope.i32(segmentIds);
  const src = x.dtype === 'int32' ? scope.i32(x) : scope.f32(x);
  const dst = x.dtype === 'int32' ? scope.i32(out) : scope.f32(out);
  dst.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const s = i * row;
    const d = segment * row;
    for (let j = 0; j < row; j++) dst[d + j] = dst[d + j]! + src[s + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig = wasmKernel(UnsortedSegmentSum, unsortedSegmentSum);
