// Element-wise kernels of one float32 input, one pass each in the addon.
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { UnaryOp } from '../addon.js';
import { f32, isFloat, nativeKernel, output } from './native-kernel.js';

/** `alpha` is Step's value for x <= 0 and LeakyRelu's slope. */
function unaryKernel(name: keyof typeof UnaryOp, defaultAlpha = 0): KernelConfig {
  return nativeKernel<{ x: TensorInfo }, { alpha?: number }>(name, ({ x }, backend, attrs) => {
    if (!isFloat(backend, x)) return undefined;
    const out = output(backend, x.shape);
    backend.addon.unary(UnaryOp[name], f32(backend, x), out.values, attrs.alpha ?? defaultAlpha);
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
];
