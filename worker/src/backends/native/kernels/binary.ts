// Binary element-wise kernels on float32, with the broadcasts a training step uses (see
// broadcast.ts); EluGrad is the gradient of Elu in one pass.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { BinaryOp } from '../addon.js';
import type { NativeBackend } from '../backend.js';
import { broadcastView } from './broadcast.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

/** out = a op b, or undefined where the cpu kernel has to take it. */
export function binary(op: number, a: TensorInfo, b: TensorInfo, backend: NativeBackend): TensorInfo | undefined {
  if (!isFloat(backend, a, b)) return undefined;
  const shape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]) ? a.shape : tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const view = broadcastView(a.shape, b.shape, shape);
  if (!view) return undefined;
  const out = output(backend, shape);
  if (out.values.length > 0) backend.addon.binary(op, f32(backend, a), view.modeA, f32(backend, b), view.modeB, out.values, view.outer, view.middle, view.inner);
  return out.info;
}

const binaryKernel = (name: keyof typeof BinaryOp): KernelConfig => nativeKernel<{ a: TensorInfo; b: TensorInfo }>(name, ({ a, b }, backend) => binary(BinaryOp[name], a, b, backend));

export const binaryConfigs: KernelConfig[] = [
  binaryKernel('Add'),
  binaryKernel('Sub'),
  binaryKernel('Multiply'),
  binaryKernel('RealDiv'),
  binaryKernel('Maximum'),
  binaryKernel('Minimum'),
  binaryKernel('SquaredDifference'),
  nativeKernel<{ dy: TensorInfo; y: TensorInfo }>('EluGrad', ({ dy, y }, backend) => binary(BinaryOp.EluGrad, dy, y, backend)),
];
