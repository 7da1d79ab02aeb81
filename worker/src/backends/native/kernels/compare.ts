// Comparisons (float32 in, bool out), logical and/or (bool), and Select: the ops of clipping's
// and relu6's gradients and of recurrent layers' hard sigmoid, which the cpu backend runs
// through its general broadcasting loop, one index computation per element.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { CompareOp } from '../addon.js';
import { broadcastView } from './broadcast.js';
import { boolOutput, f32, isBool, isFloat, nativeKernel, output, u8 } from './native-kernel.js';

type Pair = { a: TensorInfo; b: TensorInfo };

const comparison = (name: 'Greater' | 'GreaterEqual' | 'Less' | 'LessEqual' | 'Equal' | 'NotEqual'): KernelConfig =>
  nativeKernel<Pair>(name, ({ a, b }, backend) => {
    if (!isFloat(backend, a, b)) return undefined;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const view = broadcastView(a.shape, b.shape, shape);
    if (!view) return undefined;
    const out = boolOutput(backend, shape);
    if (out.values.length > 0) backend.addon.compare(CompareOp[name], f32(backend, a), view.modeA, f32(backend, b), view.modeB, out.values, view.outer, view.middle, view.inner);
    return out.info;
  });

const logical = (name: 'LogicalAnd' | 'LogicalOr'): KernelConfig =>
  nativeKernel<Pair>(name, ({ a, b }, backend) => {
    if (!isBool(backend, a, b)) return undefined;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const view = broadcastView(a.shape, b.shape, shape);
    if (!view) return undefined;
    const out = boolOutput(backend, shape);
    if (out.values.length > 0) backend.addon.compareBool(CompareOp[name], u8(backend, a), view.modeA, u8(backend, b), view.modeB, out.values, view.outer, view.middle, view.inner);
    return out.info;
  });

export const compareConfigs: KernelConfig[] = [
  comparison('Greater'),
  comparison('GreaterEqual'),
  comparison('Less'),
  comparison('LessEqual'),
  comparison('Equal'),
  comparison('NotEqual'),
  logical('LogicalAnd'),
  logical('LogicalOr'),
  nativeKernel<{ condition: TensorInfo; t: TensorInfo; e: TensorInfo }>('Select', ({ condition, t, e }, backend) => {
    const same = condition.shape.join() === t.shape.join() && t.shape.join() === e.shape.join();
    if (!same || !isBool(backend, condition) || !isFloat(backend, t, e)) return undefined;
    const out = output(backend, t.shape);
    backend.addon.select(u8(backend, condition), f32(backend, t), f32(backend, e), out.values);
    return out.info;
  }),
];
