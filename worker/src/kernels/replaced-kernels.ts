// The backend's own kernels that ours replaced, kept for kernels that hand it the cases they
// do not speed up, and for benchmarks that compare the two.
import type { KernelConfig } from '@tensorflow/tfjs';

const replaced = new Map<string, KernelConfig>();
const key = (kernelName: string, backendName: string) => `${backendName}/${kernelName}`;

export function recordReplaced(config: KernelConfig): void {
  replaced.set(key(config.kernelName, config.backendName), config);
}

export function replacedKernel(kernelName: string, backendName = 'wasm'): KernelConfig | undefined {
  return replaced.get(key(kernelName, backendName));
}
