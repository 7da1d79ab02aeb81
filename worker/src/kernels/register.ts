// The training kernels we add to the wasm and webgpu backends, in one list. An entry either fills a gap
// (the backend has no such kernel) or replaces the backend's own, and says which: a kernel
// the backend already has is left alone unless its entry is marked `replaces`.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { batchMatMulConfig as webgpuBatchMatMulConfig, fusedMatMulConfig as webgpuFusedMatMulConfig } from '../backends/webgpu/kernels/BatchMatMul.js';
import { conv2DConfig as webgpuConv2DConfig, fusedConv2DConfig as webgpuFusedConv2DConfig } from '../backends/webgpu/kernels/Conv2D.js';
import { conv2DBackpropFilterConfig as webgpuConv2DBackpropFilterConfig } from '../backends/webgpu/kernels/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig as webgpuConv2DBackpropInputConfig } from '../backends/webgpu/kernels/Conv2DBackpropInput.js';
import { batchMatMulConfig } from './BatchMatMul.js';
import { castConfig } from './Cast.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { identityConfig } from './Identity.js';
import { maxPoolGradConfig } from './MaxPoolGrad.js';
import { recordReplaced, replacedKernel } from './replaced-kernels.js';
import { resizeBilinearGradConfig } from './ResizeBilinearGrad.js';
import { resizeNearestNeighborGradConfig } from './ResizeNearestNeighborGrad.js';
import { sumConfig } from './Sum.js';
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum.js';

interface TrainingKernel {
  config: KernelConfig;
  /** Why ours replaces the backend's kernel of the same name; absent when it fills a gap. */
  replaces?: string;
}

export const trainingKernels: readonly TrainingKernel[] = [
  { config: batchMatMulConfig, replaces: 'transposed and batched products run a scalar loop 10-15x slower than GEMM' },
  { config: castConfig, replaces: 'it copies when the type does not change (every relu gradient) and wraps numbers cast to bool; other conversions go to the original' },
  { config: conv2DBackpropFilterConfig },
  { config: conv2DBackpropInputConfig, replaces: 'a scalar loop at a tenth of GEMM speed' },
  { config: depthwiseConv2dNativeBackpropFilterConfig },
  { config: depthwiseConv2dNativeBackpropInputConfig },
  { config: identityConfig, replaces: 'it copies; the engine clones every tensor a gradient saves' },
  { config: maxPoolGradConfig, replaces: 'windows without a positive value send their gradient to element 0 (FLT_MIN as the initial maximum)' },
  { config: resizeBilinearGradConfig, replaces: 'one scatter with cpu and native, so the three agree to the bit on upsampling' },
  { config: resizeNearestNeighborGradConfig, replaces: 'it ignores halfPixelCenters' },
  { config: sumConfig, replaces: 'reducing leading axes (bias gradients) transposes the whole tensor first; other reductions go to the original' },
  { config: unsortedSegmentSumConfig },
  { config: webgpuConv2DBackpropFilterConfig, replaces: 'one invocation per filter element sums over the whole batch: a few hundred threads for a first layer' },
  // Ours, written here to be measured and tuned against TF.js's (MatMulPacked, Conv2DMM,
  // Conv2DDerInputMM); each hands the cases it declines to TF.js's kernel (backends/webgpu/kernels/theirs.ts).
  { config: webgpuBatchMatMulConfig, replaces: 'our tiled WGSL product (64x64 or 32x32 tiles, a register block per invocation)' },
  { config: webgpuFusedMatMulConfig, replaces: 'our tiled WGSL product with bias and activation in its epilogue' },
  { config: webgpuConv2DConfig, replaces: 'our implicit GEMM over NHWC on the same tiled product' },
  { config: webgpuFusedConv2DConfig, replaces: 'our implicit GEMM with bias and activation in its epilogue' },
  { config: webgpuConv2DBackpropInputConfig, replaces: 'our implicit GEMM over dy and the filter read transposed in place' },
];

export { replacedKernel };

/** The kernels of `backendName` that are ours right now (registered and not restored). */
export function oursRegistered(backendName: string): string[] {
  return trainingKernels.filter(({ config }) => config.backendName === backendName && tf.getKernel(config.kernelName, backendName) === config).map(({ config }) => config.kernelName);
}

export interface Registration {
  added: string[];
  replaced: string[];
  /** Kernels the backend already had and ours do not replace. */
  kept: string[];
}

/** Registers `trainingKernels` for `backendName`; registering twice changes nothing. */
export function registerTrainingKernels(backendName = 'wasm'): Registration {
  const names = new Set<string>();
  for (const { config } of trainingKernels) {
    const key = `${config.backendName}/${config.kernelName}`;
    if (names.has(key)) throw new Error(`training kernel ${key} is listed twice`);
    names.add(key);
  }
  // Some of ours hand cases to the kernel they replace, whose set-up runs when the backend
  // initialises: registered before that, ours would stand in the way of it.
  const backend = tf.findBackend(backendName);
  if (!backend) throw new Error(`register training kernels once the ${backendName} backend is initialised`);
  const result: Registration = { added: [], replaced: [], kept: [] };
  for (const { config, replaces } of trainingKernels) {
    if (config.backendName !== backendName) continue;
    const existing = tf.getKernel(config.kernelName, backendName);
    if (existing === config) continue;
    if (existing && !replaces) {
      result.kept.push(config.kernelName);
      continue;
    }
    if (existing) {
      existing.setupFunc?.(backend);
      recordReplaced(existing);
      tf.unregisterKernel(config.kernelName, backendName);
      result.replaced.push(config.kernelName);
    } else {
      result.added.push(config.kernelName);
    }
    tf.registerKernel(config);
  }
  return result;
}

/**
 * Puts the backend's own kernels back where ours replaced them, keeping the ones that fill gaps
 * (benchmarks compare the two; `registerTrainingKernels` swaps ours in again).
 */
export function restoreBackendKernels(backendName = 'wasm'): string[] {
  const restored: string[] = [];
  for (const { config, replaces } of trainingKernels) {
    const original = replacedKernel(config.kernelName, backendName);
    if (!replaces || !original || tf.getKernel(config.kernelName, backendName) !== config) continue;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(original);
    restored.push(config.kernelName);
  }
  return restored;
}
