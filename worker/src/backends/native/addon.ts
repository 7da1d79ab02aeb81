// Loads the native addon (worker/native, built at `npm ci` or by scripts/ensure-deps.mjs) and
// describes its functions. Loading never throws: a machine without the build gets the reason,
// which the worker reports once when it falls back to wasm.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const buildDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native', 'build');
export const ADDON_PATH = join(buildDir, 'syncline-native.node');
const UNAVAILABLE_PATH = join(buildDir, 'unavailable.txt');

/** Activation codes of fused products and convolutions (kernels.h `Activation`). */
export const Activation = { linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5 } as const;

/** Element-wise op codes (kernels.h `Unary`). */
export const UnaryOp = {
  Relu: 0, Relu6: 1, Elu: 2, Sigmoid: 3, Tanh: 4, Exp: 5, Log: 6, Neg: 7, Square: 8, Sqrt: 9, Rsqrt: 10, Abs: 11, Step: 12, LeakyRelu: 13, Reciprocal: 14, Softplus: 15, ClipByValue: 16,
} as const;

/** Comparison and logical op codes (kernels.h `Compare`). */
export const CompareOp = { Greater: 0, GreaterEqual: 1, Less: 2, LessEqual: 3, Equal: 4, NotEqual: 5, LogicalAnd: 6, LogicalOr: 7 } as const;

/** Binary op codes (kernels.h `Binary`). */
export const BinaryOp = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, ReluGrad: 7, EluGrad: 8 } as const;

/**
 * How an operand of a binary op maps onto the output viewed as (outer, middle, inner): the
 * whole output, repeated over the middle axis, spanning only the middle axis, or one scalar.
 */
export const Broadcast = { full: 0, acrossMiddle: 1, middleOnly: 2, scalar: 3 } as const;
export type BroadcastMode = (typeof Broadcast)[keyof typeof Broadcast];

/** Convolution and pooling geometry, in the order of kernels.h `ConvGeometry`. */
export type Geometry = Int32Array;

type F32 = Float32Array;

export interface NativeAddon {
  gemm(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean, strideA: number, strideB: number, bias: F32 | null, activation: number, alpha: number): void;
  conv2d(geometry: Geometry, x: F32, filter: F32, bias: F32 | null, y: F32, activation: number, alpha: number): void;
  conv2dBackpropInput(geometry: Geometry, dy: F32, filter: F32, dx: F32): void;
  conv2dBackpropFilter(geometry: Geometry, x: F32, dy: F32, dw: F32): void;
  maxPool(geometry: Geometry, x: F32, y: F32): void;
  maxPoolGrad(geometry: Geometry, dy: F32, x: F32, dx: F32): void;
  avgPool(geometry: Geometry, x: F32, y: F32): void;
  avgPoolGrad(geometry: Geometry, dy: F32, dx: F32): void;
  unary(op: number, x: F32, y: F32, alpha: number, beta: number): void;
  compare(op: number, a: F32, modeA: BroadcastMode, b: F32, modeB: BroadcastMode, out: Uint8Array, outer: number, middle: number, inner: number): void;
  compareBool(op: number, a: Uint8Array, modeA: BroadcastMode, b: Uint8Array, modeB: BroadcastMode, out: Uint8Array, outer: number, middle: number, inner: number): void;
  select(condition: Uint8Array, a: F32, b: F32, out: F32): void;
  copyRows(src: F32, srcOffset: number, srcStride: number, dst: F32, dstOffset: number, dstStride: number, rows: number, length: number): void;
  binary(op: number, a: F32, modeA: BroadcastMode, b: F32, modeB: BroadcastMode, out: F32, outer: number, middle: number, inner: number): void;
  sumMiddle(x: F32, out: F32, outer: number, middle: number, inner: number): void;
  softmax(x: F32, y: F32, rows: number, cols: number): void;
  /**
   * Dropout masks from per-sample Philox draws (random.cc), the numbers sample-random.ts draws:
   * row r keyed by samples[r], `scale` where the uniform is >= rate, else 0. seed, epoch and
   * stream are uint32; `out` has samples.length x perSample values.
   */
  dropoutMask(seed: number, epoch: number, samples: Uint32Array, stream: number, perSample: number, rate: number, scale: number, out: F32): void;
  /** FusedBatchNorm's forward over rows of `channels` values (norm.cc); each parameter has `channels` values or one. */
  batchNorm(x: F32, mean: F32, variance: F32, scale: F32, offset: F32, epsilon: number, y: F32, channels: number): void;
  /**
   * Fused optimizer updates (optimizer.cc), in place: `sum` is the whole all-reduced gradient
   * sum, `offset` where the variable's slice starts; the mean gradient is sum / samples (times
   * `scale` in float64 when scale >= 0, the global-norm clip), exactly as VariableSet.meanGradients
   * makes it.
   */
  meanGradientSquareSum(sum: F32, length: number, samples: number): number;
  sgdUpdate(sum: F32, offset: number, samples: number, scale: number, negRate: number, w: F32): void;
  momentumUpdate(sum: F32, offset: number, samples: number, scale: number, negRate: number, momentum: number, nesterov: boolean, w: F32, accumulation: F32): void;
  /** `scalars`: beta1, 1 - beta1, beta2, 1 - beta2, 1 - accBeta1, 1 - accBeta2, epsilon, -rate (kernels.h AdamScalars). */
  adamUpdate(sum: F32, offset: number, samples: number, scale: number, scalars: F32, w: F32, first: F32, second: F32): void;
  setThreads(n: number): void;
  threads(): number;
  versions(): { onednn: string; openblas: string };
}

export type AddonLoad = { addon: NativeAddon } | { reason: string };

let loaded: AddonLoad | undefined;

/**
 * The addon, or why it is not there (read once per process). SYNCLINE_NATIVE_ADDON names
 * another build of it (tests use a missing one to see the fallback).
 */
export function loadAddon(): AddonLoad {
  if (loaded) return loaded;
  const path = process.env.SYNCLINE_NATIVE_ADDON ?? ADDON_PATH;
  if (!existsSync(path)) {
    const recorded = path === ADDON_PATH && existsSync(UNAVAILABLE_PATH) ? readFileSync(UNAVAILABLE_PATH, 'utf8').trim() : undefined;
    return (loaded = { reason: `the native addon is not built: ${recorded ?? `no ${path} (node worker/native/build.mjs builds it)`}` });
  }
  // OpenMP threads spin after each parallel region (GOMP: 300,000 turns) before they sleep.
  // That wins on an idle host and loses badly where other processes share the cores (several
  // workers per host, a busy machine): spinning threads take the turns the others need. A
  // short spin keeps most of the gain. Read when libgomp loads, so it is set before the addon.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = '10000';
  try {
    return (loaded = { addon: createRequire(import.meta.url)(path) as NativeAddon });
  } catch (err) {
    return (loaded = { reason: `the native addon does not load: ${err instanceof Error ? err.message : String(err)}` });
  }
}
