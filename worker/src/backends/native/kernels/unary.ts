// Element-wise kernels of one float32 input, one pass each in the addon.
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { UnaryOp } from '../addon.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

/** `alpha` is Step's value for x <= 0 and LeakyRelu's slope. */
function unaryKernel(name: keyof typeof UnaryOp, defaultAlpha = 0): KernelConfig {
  return nativeKernel<{ x: TensorInfo }, { alpha?: number }>(name, ({ x }, backend, attrs) => {
    if (!isFloat(backend, x)) return undefined;
    const out = output(backend, x.shape);
    backend.addon.unary(UnaryOp[name], f32(backend, x), out.values, attrs.alpha ?? defaultAlpha, 0);
    return out.info;
  });
}

export const unaryConfigs: KernelConfig[] = [
  unaryKernel('Relu'),
  unaryKernel('Relu6'),
  unaryKernel('Elu'),
  unaryKernel('Sigmoid'),
  unaryKernel('Tanh'),
  unaryKernel('Exp'),
  unaryKernel('Log'),
  unaryKernel('Neg'),
  unaryKernel('Square'),
  unaryKernel('Sqrt'),
  unaryKernel('Rsqrt'),
  unaryKernel('Abs'),
  unaryKernel('Step'),
  unaryKernel('LeakyRelu', 0.2),
  unaryKernel('Reciprocal'),
  unaryKernel('Softplus'),
  nativeKernel<{ x: TensorInfo }, { clipValueMin: number; clipValueMax: number }>('ClipByValue', ({ x }, backend, attrs) => {
    if (!isFloat(backend, x)) return undefined;
    const out = output(backend, x.shape);
    backend.addon.unary(UnaryOp.ClipByValue, f32(backend, x), out.values, attrs.clipValueMin, attrs.clipValueMax);
    return out.info;
  }),
  nativeKernel<{ x: TensorInfo }>('ZerosLike', ({ x }, backend) => {
    if (x.dtype !== 'float32') return undefined;
    const out = output(backend, x.shape);
    out.values.fill(0);
    return out.info;
  }),
];
