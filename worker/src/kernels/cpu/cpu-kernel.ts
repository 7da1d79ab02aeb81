// The one place where the engine's untyped kernel call meets our typed kernel functions, for
// backends that keep tensors in JS typed arrays (cpu, and native, which extends it).
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export function cpuKernel<I extends object, A extends object>(
  kernelName: string,
  run: (inputs: I, backend: MathBackendCPU, attrs: A) => TensorInfo,
): (backendName: string) => KernelConfig {
  return (backendName) => ({
    kernelName,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => run(inputs as I, backend as MathBackendCPU, (attrs ?? {}) as A),
  });
}
