// The one place where the engine's untyped kernel call meets our typed kernel functions.
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function wasmKernel<I extends object, A extends object>(
  kernelName: string,
  run: (inputs: I, backend: BackendWasm, attrs: A) => TensorInfo,
): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => run(inputs as I, backend as BackendWasm, (attrs ?? {}) as A),
  };
}
