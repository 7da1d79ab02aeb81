// Matrix products on the wasm heap through the backend's own C `BatchMatMul`. Its fast path
// (XNNPACK's GEMM) runs only for a single batch without transposes; every other case takes a
// scalar triple loop 10-15x slower. `gemm` always asks for the fast path, so callers
// materialise transposes and split batches into views first.
/// <reference types="emscripten" />
import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { HeapScope } from './wasm-heap.js';

type WasmBatchMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

const entryPoints = new WeakMap<BackendWasm, WasmBatchMatMul>();

function wasmBatchMatMul(backend: BackendWasm): WasmBatchMatMul {
  let f = entryPoints.get(backend);
  if (!f) {
    f = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmBatchMatMul;
    entryPoints.set(backend, f);
  }
  return f;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** out[m, n] = a[m, k] · b[k, n] (row-major heap tensors), on XNNPACK's GEMM. */
export function gemm(scope: HeapScope, a: TensorInfo, b: TensorInfo, out: TensorInfo, m: number, k: number, n: number): void {
  wasmBatchMatMul(scope.backend)(scope.id(a), shapeBytes([1, m, k]), 3, scope.id(b), shapeBytes([1, k, n]), 3, false, false, scope.id(out));
}

/**
 * The backend's scalar path, for products too small for GEMM's set-up to pay: a is
 * [batch, m, k] (or [batch, k, m] transposed), b is [batch, k, n] (or [batch, n, k]).
 */
export function scalarBatchMatMul(
  scope: HeapScope,
  a: TensorInfo,
  aShape: number[],
  b: TensorInfo,
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
  out: TensorInfo,
): void {
  wasmBatchMatMul(scope.backend)(scope.id(a), shapeBytes(aShape), 3, scope.id(b), shapeBytes(bShape), 3, transposeA, transposeB, scope.id(out));
}
