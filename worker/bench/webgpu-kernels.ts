// Our WGSL kernels against TF.js's own, op by op, on the shapes of the Keras CNN's training step
// (`npm run bench -- webgpu-kernels [--batch 8]`): each op timed with ours and with TF.js's in
// turn (ours, theirs, ours, …), so that a machine whose load drifts weighs on both alike.
// Milliseconds from the call until the result is read back; median of 5.
import * as tf from '@tensorflow/tfjs';
import type { Bench, Emit } from '../../bench/registry.js';
import { selectBackend } from '../src/backend.js';
import { declinedCalls, resetDeclinedCalls } from '../src/backends/webgpu/kernels/theirs.js';
import { registerTrainingKernels, restoreBackendKernels } from '../src/kernels/register.js';

const REPS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeMs(op: () => tf.Tensor): Promise<number> {
  const start = performance.now();
  const y = op();
  await y.data();
  y.dispose();
  return performance.now() - start;
}

async function run(emit: Emit, batch: number): Promise<void> {
  const backend = await selectBackend('webgpu').catch((err: Error) => err);
  if (backend instanceof Error) {
    emit({ skipped: `no webgpu here: ${backend.message}` });
    return;
  }
  const r = (...shape: number[]) => tf.randomNormal(shape);
  // conv32 (28x28x1 -> 26x26x32), conv64 (-> 24x24x64), dense 9216 -> 128.
  const [x, w1, a1, w2, dy1, dy2] = [r(batch, 28, 28, 1), r(3, 3, 1, 32), r(batch, 26, 26, 32), r(3, 3, 32, 64), r(batch, 26, 26, 32), r(batch, 24, 24, 64)];
  const [h, wd, dyd] = [r(batch, 9216), r(9216, 128), r(batch, 128)];
  const filterGrad = (input: tf.Tensor, dy: tf.Tensor, filterShape: number[]) => () =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x: input, dy }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape }) as tf.Tensor;
  const ops: [string, () => tf.Tensor][] = [
    ['Conv2D conv32', () => tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'valid')],
    ['Conv2D conv64', () => tf.conv2d(a1 as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'valid')],
    ['Conv2DBackpropInput conv64', () => tf.conv2dTranspose(dy2 as tf.Tensor4D, w2 as tf.Tensor4D, [batch, 26, 26, 32], 1, 'valid')],
    ['Conv2DBackpropFilter conv32', filterGrad(x, dy1, [3, 3, 1, 32])],
    ['Conv2DBackpropFilter conv64', filterGrad(a1, dy2, [3, 3, 32, 64])],
    ['MatMul dense forward', () => tf.matMul(h, wd)],
    ['MatMul dense weight gradient', () => tf.matMul(h, dyd, true, false)],
    ['MatMul dense input gradient', () => tf.matMul(dyd, wd, false, true)],
  ];
  try {
    for (const [op, f] of ops) {
      const ours: number[] = [];
      const theirs: number[] = [];
      resetDeclinedCalls();
      // The first call of each compiles its shaders.
      registerTrainingKernels('webgpu');
      await timeMs(f);
      restoreBackendKernels('webgpu');
      await timeMs(f);
      for (let i = 0; i < REPS; i++) {
        registerTrainingKernels('webgpu');
        ours.push(await timeMs(f));
        restoreBackendKernels('webgpu');
        theirs.push(await timeMs(f));
      }
      registerTrainingKernels('webgpu');
      const [oursMs, theirsMs] = [median(ours), median(theirs)];
      emit({ op, batch, adapter: backend.adapter ? `${backend.adapter.vendor} ${backend.adapter.architecture}`.trim() : backend.reason, oursMs: Number(oursMs.toFixed(1)), theirsMs: Number(theirsMs.toFixed(1)), speedup: Number((theirsMs / oursMs).toFixed(2)), declined: declinedCalls() });
    }
  } finally {
    registerTrainingKernels('webgpu');
    tf.dispose([x, w1, a1, w2, dy1, dy2, h, wd, dyd]);
  }
}

export const webgpuKernelsBench: Bench = {
  name: 'webgpu-kernels',
  description: "our WGSL kernels vs TF.js's on webgpu, op by op, on the Keras CNN's shapes (default batch 8: SwiftShader runs it on the CPU)",
  run: (emit, options) => run(emit, options?.batch ?? 8),
};
