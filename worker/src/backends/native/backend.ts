// The `native` TF.js backend: the cpu backend's tensor storage and kernels, with the kernels a
// training step spends its time in replaced by the addon's (oneDNN, OpenBLAS, threaded loops).
//
// Why on `cpu` and not on `wasm`: cpu keeps every tensor in a JS typed array, which the addon
// reads and writes in place (Node-API hands it the pointer), so no kernel copies anything and
// every kernel we do not replace still works, untouched. The wasm heap would also be
// addressable, but it is one 32-bit heap that wasm may move when it grows (invalidating
// pointers between calls), its kernels run on a single thread beside ours, and the kernels we
// do not replace would be the wasm ones we already had to patch for training.
import * as tf from '@tensorflow/tfjs';
import type { DataId, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { BufferPool } from './buffer-pool.js';
import { registerCpuCorrections } from '../../kernels/cpu/register.js';
import { nativeKernels } from './kernels/register.js';

export const NATIVE = 'native';

export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool();

  constructor(readonly addon: NativeAddon) {
    super();
    // The cpu backend prints advice to install tfjs-node on its first tensor; we are the native backend.
    Reflect.set(this, 'firstUse', false);
  }

  /** The caller keeps the array it reads: it is never reused. */
  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const values = super.readSync(dataId);
    this.pool.pin(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const disposed = super.disposeData(dataId, force);
    if (disposed && values !== undefined && !this.data.has(dataId)) this.pool.give(values);
    return disposed;
  }

  /** Pins the inputs of a cpu kernel whose output shares their memory (a view, or the same array). */
  pinShared(inputs: TensorInfo[], outputs: TensorInfo[]): void {
    for (const out of outputs) {
      const values = this.data.has(out.dataId) ? this.data.get(out.dataId).values : undefined;
      if (!ArrayBuffer.isView(values)) continue;
      for (const input of inputs) {
        if (out.dataId === input.dataId || !this.data.has(input.dataId)) continue;
        const inputValues = this.data.get(input.dataId).values;
        if (ArrayBuffer.isView(inputValues) && inputValues.buffer === values.buffer) this.pool.pin(inputValues);
      }
    }
  }
}

/** A cpu kernel, run on the native backend, with its shared outputs pinned. */
function fromCpu(config: KernelConfig): KernelConfig {
  return {
    ...config,
    backendName: NATIVE,
    kernelFunc: (args) => {
      const out = config.kernelFunc(args);
      const backend = args.backend as NativeBackend;
      const inputs = Object.values(args.inputs).filter((t): t is TensorInfo => t !== undefined);
      backend.pinShared(inputs, Array.isArray(out) ? out : [out]);
      return out;
    },
  };
}

/** Registers the backend and its kernels once; the addon's thread count is set by the caller. */
export function registerNativeBackend(addon: NativeAddon): void {
  if (tf.findBackendFactory(NATIVE)) return;
  tf.registerBackend(NATIVE, () => new NativeBackend(addon), 1);
  const ours = new Set(nativeKernels.map((k) => k.kernelName));
  if (ours.size !== nativeKernels.length) throw new Error('a native kernel is listed twice');
  registerCpuCorrections('cpu');
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (!ours.has(config.kernelName)) tf.registerKernel(fromCpu(config));
  }
  for (const config of nativeKernels) tf.registerKernel(config);
}
