// BatchMatMul for wasm, replacing the backend's own: that one reaches XNNPACK's GEMM only for
// one batch without transposes and otherwise runs a scalar loop 10-15x slower, which is where
// backpropagation's products (x^T·dy, dy·W^T) land. Here transposes are materialised with a
// blocked transpose (O(size) against the product's O(m·k·n)) and batches run one GEMM each,
// so every product takes the fast path; tiny batched products keep the scalar loop. A product
// with a transpose may be computed transposed, C^T = B^T · A^T, when that packs less.
import { BatchMatMul, broadcast_util, util, type BatchMatMulAttrs, type BatchMatMulInputs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gemm, scalarBatchMatMul } from './gemm.js';
import { transpose2d } from './transpose2d.js';
import { HeapScope } from './wasm-heap.js';
import { wasmKernel } from './wasm-kernel.js';

/** Below this many multiply-adds per batch, GEMM's set-up (packing b) costs more than it saves. */
const GEMM_MIN_WORK = 32 * 32 * 32;

/** [batch, rows, cols] → a new [batch, cols, rows]. */
function transposed(scope: HeapScope, t: TensorInfo, batch: number, rows: number, cols: number): TensorInfo {
  const out = scope.alloc([batch, cols, rows]);
  const src = scope.f32(t);
  const dst = scope.f32(out);
  for (let i = 0; i < batch; i++) transpose2d(src, i * rows * cols, cols, dst, i * rows * cols, rows, rows, cols);
  return out;
}

/**
 * out[i] = a[i % batchA] · b[i % batchB] for [*, m, k] · [*, k, n], one GEMM per batch, or one
 * tall GEMM when b is shared.
 */
function product(scope: HeapScope, a: TensorInfo, batchA: number, b: TensorInfo, batchB: number, out: TensorInfo, batch: number, m: number, k: number, n: number): void {
  if (batchB === 1) {
    gemm(scope, a, b, out, batch * m, k, n);
    return;
  }
  for (let i = 0; i < batch; i++) {
    const av = scope.view(a, (i % batchA) * m * k, [1, m, k]);
    const bv = scope.view(b, (i % batchB) * k * n, [1, k, n]);
    const ov = scope.view(out, i * m * n, [1, m, n]);
    gemm(scope, av, bv, ov, m, k, n);
    scope.dropView(av);
    scope.dropView(bv);
    scope.dropView(ov);
  }
}

/**
 * Whether computing C^T = B^T · A^T costs less than C = A · B. XNNPACK packs the right-hand
 * operand before every product (about 5 ns an element; our transposes take about 1), so the
 * smaller of A and B should be on the right: counted in element moves, packing weighted 5.
 */
function swappedIsCheaper(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): boolean {
  const PACK = 5;
  const direct = (transposeA ? k * m : 0) + (transposeB ? k * n : 0) + PACK * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : k * m) + PACK * k * m + m * n;
  return swapped < direct;
}

function batchMatMul(inputs: BatchMatMulInputs, backend: BackendWasm, attrs: BatchMatMulAttrs): TensorInfo {
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { transposeA, transposeB } = attrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul for non-float32 tensors is not supported on wasm');
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  util.assert(k === kB, () => `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  const outShape = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([m, n]);
  const batch = Math.max(batchA, batchB);

  const out = backend.makeOutput([batch, m, n], 'float32');
  const scope = new HeapScope(backend);
  try {
    if (m * k * n === 0) {
      scope.f32(out).fill(0);
    } else if (batch > 1 && batchA === batchB && m * k * n < GEMM_MIN_WORK) {
      scalarBatchMatMul(scope, a, transposeA ? [batch, k, m] : [batch, m, k], b, transposeB ? [batch, n, k] : [batch, k, n], transposeA, transposeB, out);
    } else if ((transposeA || transposeB) && swappedIsCheaper(m, k, n, transposeA, transposeB)) {
      // C^T = B^T · A^T: the operand XNNPACK packs is A^T, the smaller one here.
      const bT = transposeB ? b : transposed(scope, b, batchB, k, n);
      const aT = transposeA ? a : transposed(scope, a, batchA, m, k);
      const cT = scope.alloc([batch, n, m]);
      product(scope, bT, batchB, aT, batchA, cT, batch, n, k, m);
      const src = scope.f32(cT);
      const dst = scope.f32(out);
      for (let i = 0; i < batch; i++) transpose2d(src, i * m * n, m, dst, i * m * n, n, n, m);
    } else {
      const aN = transposeA ? transposed(scope, a, batchA, k, m) : a;
      const bN = transposeB ? transposed(scope, b, batchB, n, k) : b;
      product(scope, aN, batchA, bN, batchB, out, batch, m, k, n);
    }
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    scope.release();
  }
  return { ...out, shape: outShape };
}

/** Replaces the backend's BatchMatMul (see the opening note). */
export const batchMatMulConfig = wasmKernel(BatchMatMul, batchMatMul);
