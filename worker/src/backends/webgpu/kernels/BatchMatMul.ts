// BatchMatMul and _FusedMatMul on webgpu through our tiled product (gemm-program.ts): either
// operand transposed, batch dimensions broadcast either way (up to 4 of them), bias and
// activation fused. Other cases (other dtypes, more batch dimensions, biases that are not per
// column) go to TF.js's kernel.
import * as tf from '@tensorflow/tfjs';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo, _FusedMatMulAttrs } from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { planEpilogue, type Epilogue } from './epilogue.js';
import { exceedsDispatch } from './gemm-program.js';
import { runGemm } from './run-gemm.js';
import { theirs } from './theirs.js';

type KernelArgs = Parameters<KernelFunc>[0];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Which matrix of an operand output matrix `batch` reads: 'one' (the operand has one), 'same'
 * (its batch dimensions are the output's) or 'broadcast' (outerIndex, a loop of divisions that
 * the other two spare every load).
 */
type Batching = 'one' | 'same' | 'broadcast';

function batching(outer: number[], operandOuter: number[]): Batching {
  if (size(operandOuter) === 1) return 'one';
  return size(operandOuter) === size(outer) ? 'same' : 'broadcast';
}

const matrixOf = (how: Batching, shape: string) => (how === 'one' ? '0' : how === 'same' ? 'batch' : `outerIndex(batch, uniforms.${shape})`);

/** A[b, m, k]: element (m, k) of matrix b of A, stored [M, K], or [K, M] when transposed. */
function operandA(transposed: boolean, how: Batching) {
  const at = transposed ? '(b * uniforms.dimK + col) * uniforms.dimM + row' : '(b * uniforms.dimM + row) * uniforms.dimK + col';
  return {
    rowMajor: !transposed,
    load: `if (row >= uniforms.dimM || col >= uniforms.dimK) { return 0.0; }
        let b = ${matrixOf(how, 'outerA')};
        return A[${at}];`,
  };
}

/** B[b, k, n], stored [K, N], or [N, K] when transposed. */
function operandB(transposed: boolean, how: Batching) {
  const at = transposed ? '(b * uniforms.dimN + col) * uniforms.dimK + row' : '(b * uniforms.dimK + row) * uniforms.dimN + col';
  return {
    rowMajor: !transposed,
    load: `if (row >= uniforms.dimK || col >= uniforms.dimN) { return 0.0; }
        let b = ${matrixOf(how, 'outerB')};
        return B[${at}];`,
  };
}

/**
 * WGSL: the matrix of an operand with batch dimensions `shape` (1 where it broadcasts) that
 * output matrix `batch` reads; all shapes padded to 4 dimensions with leading 1s.
 */
const OUTER_INDEX = `
      fn outerIndex(batch : i32, shape : vec4<i32>) -> i32 {
        var rest = batch;
        var index = 0;
        var stride = 1;
        for (var d = 3; d >= 0; d = d - 1) {
          let coord = rest % uniforms.outer[d];
          rest = rest / uniforms.outer[d];
          if (shape[d] != 1) {
            index = index + coord * stride;
          }
          stride = stride * shape[d];
        }
        return index;
      }`;

const MAX_OUTER = 4;
const padded = (outer: number[]) => [...Array<number>(MAX_OUTER - outer.length).fill(1), ...outer];

interface MatMulArgs {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: TensorInfo;
  prelu?: TensorInfo;
  activation?: string | null;
  leakyreluAlpha?: number;
}

/** Runs ours, or says why not. */
function matMul(gpu: WebGPUBackend, m: MatMulArgs): TensorInfo | string {
  const { a, b, transposeA, transposeB } = m;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return `${a.dtype} x ${b.dtype}`;
  if (a.shape.length < 2 || b.shape.length < 2) return 'an operand of rank below 2';
  const [ra, rb] = [a.shape.length, b.shape.length];
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== kB) throw new Error(`matMul: inner dimensions ${K} and ${kB} of shapes [${a.shape}] and [${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB}) differ`);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  if (outer.length > MAX_OUTER) return `${outer.length} batch dimensions`;
  const epilogue: Epilogue | string = planEpilogue(N, m.activation, m.bias, m.prelu);
  if (typeof epilogue === 'string') return epilogue;
  const batch = size(outer);
  const shape = { batch, m: M, n: N, k: K };
  const [howA, howB] = [batching(outer, outerA), batching(outer, outerB)];
  const tooLarge = exceedsDispatch(gpu.device, shape);
  if (tooLarge) return tooLarge;

  return runGemm(gpu, {
    name: `MatMul_${howA}_${howB}`,
    shape,
    operands: [a, b],
    operandNames: ['A', 'B'],
    uniforms: 'outer : vec4<i32>, outerA : vec4<i32>, outerB : vec4<i32>,',
    uniformData: [
      { type: 'int32', data: padded(outer) },
      { type: 'int32', data: padded(outerA) },
      { type: 'int32', data: padded(outerB) },
    ],
    a: operandA(transposeA, howA),
    b: operandB(transposeB, howB),
    helpers: OUTER_INDEX,
    epilogue,
    epilogueTensors: [...(m.bias ? [m.bias] : []), ...(epilogue.prelu ? [m.prelu!] : [])],
    leakyreluAlpha: m.leakyreluAlpha,
    outShape: [...outer, M, N],
  });
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const out = matMul(args.backend as WebGPUBackend, { a, b, transposeA, transposeB });
    return typeof out === 'string' ? theirs(tf.BatchMatMul, args, out) : out;
  },
};

export const fusedMatMulConfig: KernelConfig = {
  kernelName: tf._FusedMatMul,
  backendName: 'webgpu',
  kernelFunc: (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as _FusedMatMulAttrs;
    const out = matMul(args.backend as WebGPUBackend, { a, b, transposeA, transposeB, bias, prelu: preluActivationWeights, activation, leakyreluAlpha });
    return typeof out === 'string' ? theirs(tf._FusedMatMul, args, out) : out;
  },
};
