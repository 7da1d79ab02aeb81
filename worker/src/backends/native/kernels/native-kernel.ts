// The one place where the engine's untyped kernel call meets our typed kernel functions, and
// where a case our kernel does not take (another dtype, an unusual broadcast or layout) goes to
// the cpu backend's kernel of the same name, which runs on our backend unchanged (it stores
// tensors the same way).
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { NativeBackend } from '../backend.js';

/** Returns undefined for the cases it leaves to the cpu kernel. */
type Run<I, A> = (inputs: I, backend: NativeBackend, attrs: A) => TensorInfo | TensorInfo[] | undefined;

export function nativeKernel<I extends object, A extends object = object>(kernelName: string, run: Run<I, A>): KernelConfig {
  let cpu: KernelConfig['kernelFunc'] | undefined;
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: (args) => {
      const out = run(args.inputs as I, args.backend as NativeBackend, (args.attrs ?? {}) as A);
      if (out) return out;
      cpu ??= tf.getKernel(kernelName, 'cpu')?.kernelFunc;
      if (!cpu) throw new Error(`no cpu kernel ${kernelName} to fall back to`);
      const result = cpu(args);
      const backend = args.backend as NativeBackend;
      backend.pinShared(Object.values(args.inputs).filter((t): t is TensorInfo => t !== undefined), Array.isArray(result) ? result : [result]);
      return result;
    },
  };
}

/** The float32 values of a tensor, in place (no copy). */
export function f32(backend: NativeBackend, t: TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

/** A new bool tensor of `shape` (one byte per value); the kernel writes every value. */
export function boolOutput(backend: NativeBackend, shape: number[]): { info: TensorInfo; values: Uint8Array } {
  const values = backend.pool.takeBytes(tf.util.sizeFromShape(shape));
  return { info: backend.makeTensorInfo(shape, 'bool', values), values };
}

/** Whether every given tensor is bool and stored as a Uint8Array. */
export function isBool(backend: NativeBackend, ...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'bool' && backend.data.get(t.dataId).values instanceof Uint8Array);
}

/** The bool values of a tensor, in place. */
export function u8(backend: NativeBackend, t: TensorInfo): Uint8Array {
  return backend.data.get(t.dataId).values as Uint8Array;
}

/** Whether every given tensor is float32 and stored as a Float32Array (a few cpu kernels
 * store float32 results in other arrays; those go to the cpu kernels). */
export function isFloat(backend: NativeBackend, ...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || (t.dtype === 'float32' && backend.data.get(t.dataId).values instanceof Float32Array));
}

/** A new float32 tensor of `shape`; its array may be reused, so the kernel writes every value. */
export function output(backend: NativeBackend, shape: number[]): { info: TensorInfo; values: Float32Array } {
  const values = backend.pool.take(tf.util.sizeFromShape(shape));
  return { info: backend.makeTensorInfo(shape, 'float32', values), values };
}
