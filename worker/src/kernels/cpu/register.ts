// Kernels that replace wrong ones of the cpu backend, in one list. The native backend starts
// from a copy of the cpu kernels, so it gets these too; wasm has correct kernels of its own.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { resizeBilinearGradConfig } from './ResizeBilinearGrad.js';
import { resizeNearestNeighborGradConfig } from './ResizeNearestNeighborGrad.js';

const corrections: readonly ((backendName: string) => KernelConfig)[] = [resizeNearestNeighborGradConfig, resizeBilinearGradConfig];

const corrected = new Set<string>();

/** Replaces the listed kernels of `backendName` (cpu, or one that copies cpu's); once per backend. */
export function registerCpuCorrections(backendName = 'cpu'): string[] {
  if (corrected.has(backendName)) return [];
  corrected.add(backendName);
  return corrections.map((make) => {
    const config = make(backendName);
    if (tf.getKernel(config.kernelName, backendName)) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
    return config.kernelName;
  });
}
