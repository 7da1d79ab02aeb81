// Cases our WGSL kernels decline go to TF.js's own kernel, which registration recorded when ours
// replaced it; each decline is counted with its reason, so a benchmark can show which of a
// step's kernels really were ours.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { replacedKernel } from '../../../kernels/replaced-kernels.js';

type KernelArgs = Parameters<KernelFunc>[0];

const declined = new Map<string, number>();

/** Runs TF.js's webgpu kernel `kernelName` on `args`, counting the decline under `reason`. */
export function theirs(kernelName: string, args: KernelArgs, reason: string): TensorInfo | TensorInfo[] {
  const own = replacedKernel(kernelName, 'webgpu');
  if (!own) throw new Error(`webgpu ${kernelName}: ours declined (${reason}) and TF.js's kernel was not recorded`);
  const key = `${kernelName}: ${reason}`;
  declined.set(key, (declined.get(key) ?? 0) + 1);
  return own.kernelFunc(args);
}

/** Calls handed to TF.js's kernels since the last reset, by "kernel: reason". */
export function declinedCalls(): Record<string, number> {
  return Object.fromEntries(declined);
}

export function resetDeclinedCalls(): void {
  declined.clear();
}
