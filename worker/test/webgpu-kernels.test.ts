// Our WGSL kernels on webgpu (backends/webgpu/kernels: the tiled product, the convolution and
// its input gradient as implicit GEMMs) against the cpu backend: ragged sizes, batches,
// transposes, every fused activation, strides, padding, 1 and 3 channels, the cases ours hands
// to TF.js's kernel, and one training step of a Keras-style CNN. Shapes are small: SwiftShader
// runs them on the CPU. Without a GPU it runs on SwiftShader; in CI a missing adapter fails.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { releaseWebGPU } from '../src/backends/webgpu/backend.js';
import { batchMatMulConfig, fusedMatMulConfig } from '../src/backends/webgpu/kernels/BatchMatMul.js';
import { conv2DConfig, fusedConv2DConfig } from '../src/backends/webgpu/kernels/Conv2D.js';
import { conv2DBackpropInputConfig } from '../src/backends/webgpu/kernels/Conv2DBackpropInput.js';
import { blocksFor, planGemm } from '../src/backends/webgpu/kernels/gemm-program.js';
import { declinedCalls, resetDeclinedCalls } from '../src/backends/webgpu/kernels/theirs.js';
import { oursRegistered, registerTrainingKernels, restoreBackendKernels } from '../src/kernels/register.js';
import { discrepancyOn, runOn, TOLERANCE, values, type Input } from './helpers/kernel-check.js';
import { gradients, type Family } from './helpers/model-families.js';

await tf.setBackend('cpu');
const selected = await selectBackend('webgpu').catch((err: Error) => err);
const unavailable = selected instanceof Error ? selected.message : undefined;
const gpuTest = unavailable && !process.env.CI ? test.skip : test.serial;

if (unavailable) test.serial(`webgpu has an adapter${process.env.CI ? '' : ` (skipped: ${unavailable})`}`, (t) => {
  if (process.env.CI) t.fail(`CI installs chromium (SwiftShader), so webgpu must run: ${unavailable}`);
  else t.pass();
});
test.after.always(() => releaseWebGPU());

const webgpu = discrepancyOn('webgpu');
let seed = 100;
const input = (...shape: number[]): Input => ({ values: values(shape.reduce((a, b) => a * b, 1), seed++), shape });

/** Runs the kernel on webgpu and cpu; passes when they agree and ours ran every call. */
async function agrees(t: import('ava').ExecutionContext, kernel: string, inputs: Record<string, Input>, attrs: tf.NamedAttrMap, declines: Record<string, number> = {}) {
  resetDeclinedCalls();
  const d = await webgpu(kernel, inputs, attrs);
  t.true(typeof d === 'number' && d < TOLERANCE, `${kernel} [${Object.values(inputs).map((i) => `[${i.shape}]`)}] ${JSON.stringify(attrs)}: discrepancy ${d}`);
  t.deepEqual(declinedCalls(), declines);
}

test('blocks per invocation: up to 4x4, narrower for narrow products, at most 2x2 below 64 workgroups', (t) => {
  t.deepEqual(blocksFor({ batch: 8, m: 129, n: 129, k: 1 }), { rows: 4, cols: 4 });
  t.deepEqual(blocksFor({ batch: 1, m: 1024, n: 1024, k: 1 }), { rows: 4, cols: 4 });
  t.deepEqual(blocksFor({ batch: 1, m: 256, n: 128, k: 1 }), { rows: 2, cols: 2 });
  t.deepEqual(blocksFor({ batch: 1, m: 50_000, n: 10, k: 1 }), { rows: 4, cols: 1 });
  t.deepEqual(blocksFor({ batch: 1, m: 10, n: 30, k: 1 }), { rows: 1, cols: 2 });
});

test('K is split where the tiles leave few workgroups and K is long, into multiples of 16', (t) => {
  t.deepEqual(planGemm({ batch: 1, m: 8, n: 128, k: 9216 }), { blocks: { rows: 1, cols: 2 }, kPerSplit: 256, splits: 36 });
  t.deepEqual(planGemm({ batch: 1, m: 3, n: 5, k: 600 }), { blocks: { rows: 1, cols: 1 }, kPerSplit: 304, splits: 2 });
  // The Keras CNN's first filter gradient at batch 1024: 9 taps x 32 channels over 692,224 pixels.
  t.deepEqual(planGemm({ batch: 1, m: 9, n: 32, k: 1024 * 26 * 26 }), { blocks: { rows: 1, cols: 2 }, kPerSplit: 2704, splits: 256 });
  t.is(planGemm({ batch: 1, m: 1024, n: 1024, k: 4096 }).splits, 1);
  t.is(planGemm({ batch: 1, m: 8, n: 8, k: 255 }).splits, 1);
});

gpuTest('ours are registered for webgpu, and restoring gives TF.js its kernels back', (t) => {
  const ours = [batchMatMulConfig, fusedMatMulConfig, conv2DConfig, fusedConv2DConfig, conv2DBackpropInputConfig];
  for (const config of ours) t.is(tf.getKernel(config.kernelName, 'webgpu'), config, config.kernelName);
  t.true(ours.every((c) => oursRegistered('webgpu').includes(c.kernelName)));
  try {
    const restored = restoreBackendKernels('webgpu');
    for (const config of ours) {
      t.true(restored.includes(config.kernelName));
      t.not(tf.getKernel(config.kernelName, 'webgpu'), config);
    }
  } finally {
    registerTrainingKernels('webgpu');
  }
  for (const config of ours) t.is(tf.getKernel(config.kernelName, 'webgpu'), config);
});

const matMuls: [string, Input, Input, boolean, boolean][] = [
  ['rank 2, ragged', input(37, 19), input(19, 70), false, false],
  ['one row, one column', input(1, 33), input(33, 1), false, false],
  ['a batch of 3, ragged', input(3, 17, 21), input(3, 21, 9), false, false],
  ['transposeA', input(2, 21, 17), input(2, 21, 9), true, false],
  ['transposeB', input(2, 17, 21), input(2, 9, 21), false, true],
  ['both transposed', input(2, 21, 17), input(2, 9, 21), true, true],
  ['b broadcast over a batch of 4', input(4, 5, 6), input(1, 6, 7), false, false],
  ['a broadcast, rank 4', input(1, 1, 5, 6), input(2, 3, 6, 7), false, false],
  ['64x64 tiles with ragged edges', input(8, 129, 20), input(8, 20, 131), false, false],
  ['64x64 tiles, both transposed', input(8, 20, 129), input(8, 131, 20), true, true],
  ['64x16 tiles, ragged', input(4100, 5), input(5, 9), false, false],
  ['16x64 tiles, ragged, transposeA', input(5, 9), input(5, 4100), true, false],
  ['K split in two, a short second part, batch 2, transposed', input(2, 700, 3), input(2, 4, 700), true, true],
];
for (const [name, a, b, transposeA, transposeB] of matMuls) {
  gpuTest(`our BatchMatMul equals cpu: ${name}`, async (t) => {
    await agrees(t, 'BatchMatMul', { a, b }, { transposeA, transposeB });
  });
}

const activations = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const;
for (const activation of activations) {
  gpuTest(`our _FusedMatMul equals cpu: bias and ${activation}`, async (t) => {
    // Values in [-4, 4): relu6 clips, elu and sigmoid see both signs.
    const a = { ...input(2, 13, 11), values: values(2 * 13 * 11, seed++).map((v) => 4 * v) };
    const inputs: Record<string, Input> = { a, b: input(2, 11, 10), bias: input(10) };
    if (activation === 'prelu') inputs.preluActivationWeights = input(10);
    await agrees(t, '_FusedMatMul', inputs, { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0.3 });
  });
}
gpuTest('our _FusedMatMul equals cpu: transposed, one bias for all, PReLU with one weight', async (t) => {
  await agrees(t, '_FusedMatMul', { a: input(12, 5), b: input(7, 12), bias: input(1), preluActivationWeights: input(1) }, { transposeA: true, transposeB: true, activation: 'prelu' });
});
gpuTest('our _FusedMatMul equals cpu: K split, then bias and leakyrelu over the sum', async (t) => {
  await agrees(t, '_FusedMatMul', { a: input(3, 600), b: input(600, 5), bias: input(5) }, { transposeA: false, transposeB: false, activation: 'leakyrelu', leakyreluAlpha: 0.1 });
});
gpuTest("a bias that is not per column goes to TF.js's _FusedMatMul, which agrees with cpu", async (t) => {
  await agrees(t, '_FusedMatMul', { a: input(6, 5), b: input(5, 7), bias: input(6, 7) }, { transposeA: false, transposeB: false, activation: 'relu' }, { '_FusedMatMul: a bias of shape [6,7] for 7 columns': 1 });
});
// TF.js 4.22's webgpu kernel throws on these, and its cpu kernel pairs the wrong matrices
// (matrix i of the output takes i % batchA of A): the reference broadcasts the operands first.
gpuTest('our BatchMatMul broadcasts batches both ways, as numpy does', async (t) => {
  for (const [aShape, bShape, transposeA] of [
    [[3, 1, 4, 5], [1, 2, 5, 6], false],
    [[2, 1, 3, 1, 5, 4], [3, 2, 5, 6], true],
  ] as const) {
    const [a, b] = [input(...aShape), input(...bShape)];
    const outer = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
    await tf.setBackend('cpu');
    const expected = tf.tidy(() => tf.matMul(tf.broadcastTo(tf.tensor(a.values, a.shape), [...outer, ...aShape.slice(-2)]), tf.broadcastTo(tf.tensor(b.values, b.shape), [...outer, ...bShape.slice(-2)]), transposeA));
    const want = (await expected.data()) as Float32Array;
    expected.dispose();
    resetDeclinedCalls();
    const got = await runOn('webgpu', 'BatchMatMul', { a, b }, { transposeA, transposeB: false });
    t.deepEqual(got.shape, [...outer, transposeA ? aShape[aShape.length - 1]! : aShape[aShape.length - 2]!, bShape[bShape.length - 1]!]);
    t.true(Math.max(...Array.from(want, (v, i) => Math.abs(v - got.values[i]!))) < TOLERANCE);
    t.deepEqual(declinedCalls(), {});
  }
});
gpuTest("int32 products go to TF.js's BatchMatMul, which agrees with cpu", async (t) => {
  const ints = (...shape: number[]) => ({ values: Int32Array.from(values(shape.reduce((a, b) => a * b, 1), seed++), (v) => Math.round(v * 5)), shape });
  await agrees(t, 'BatchMatMul', { a: ints(2, 3, 4), b: ints(2, 4, 5) }, { transposeA: false, transposeB: false }, { 'BatchMatMul: int32 x int32': 1 });
});

const conv = (strides: number | [number, number], pad: 'same' | 'valid' | number, dilations: number | [number, number] = 1) => ({ strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined as unknown as string });
const convs: [string, Input, Input, ReturnType<typeof conv>][] = [
  ['3 channels, stride 1, same', input(2, 9, 9, 3), input(3, 3, 3, 5), conv(1, 'same')],
  ['3 channels, stride 2, same, ragged', input(2, 9, 11, 3), input(3, 3, 3, 5), conv(2, 'same')],
  ['1 channel, stride 2, valid', input(3, 10, 9, 1), input(3, 3, 1, 4), conv(2, 'valid')],
  ['1 channel, stride 1, valid, 5x5', input(1, 12, 12, 1), input(5, 5, 1, 8), conv(1, 'valid')],
  ['1 channel, 32 filters, 64x32 tiles', input(13, 20, 20, 1), input(3, 3, 1, 32), conv(1, 'valid')],
  ['a 2x3 filter, strides [1, 2], explicit padding 1', input(2, 7, 8, 3), input(2, 3, 3, 6), conv([1, 2], 1)],
  ['dilations 2', input(1, 9, 9, 2), input(3, 3, 2, 3), conv(1, 'valid', 2)],
  ['1x1 filter, 130 out-channels', input(4, 16, 16, 8), input(1, 1, 8, 130), conv(1, 'valid')],
];
for (const [name, x, filter, attrs] of convs) {
  gpuTest(`our Conv2D equals cpu: ${name}`, async (t) => {
    await agrees(t, 'Conv2D', { x, filter }, attrs);
  });
}
for (const activation of activations) {
  gpuTest(`our FusedConv2D equals cpu: bias and ${activation}, stride 2, same`, async (t) => {
    const x = { ...input(2, 7, 7, 3), values: values(2 * 7 * 7 * 3, seed++).map((v) => 3 * v) };
    const inputs: Record<string, Input> = { x, filter: input(3, 3, 3, 6), bias: input(6) };
    if (activation === 'prelu') inputs.preluActivationWeights = input(6);
    await agrees(t, 'FusedConv2D', inputs, { ...conv(2, 'same'), activation, leakyreluAlpha: 0.25 });
  });
}
gpuTest("NCHW goes to TF.js's Conv2D, which agrees with cpu", async (t) => {
  // The cpu backend has no NCHW convolution: check the decline and the shape only.
  resetDeclinedCalls();
  await tf.setBackend('webgpu');
  const [x, filter] = [tf.ones([1, 2, 5, 5]), tf.ones([3, 3, 2, 4])];
  try {
    const out = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid', 'NCHW');
    t.deepEqual(out.shape, [1, 4, 3, 3]);
    t.deepEqual(Array.from(await out.data()).slice(0, 2), [18, 18]);
    out.dispose();
  } finally {
    tf.dispose([x, filter]);
  }
  t.deepEqual(declinedCalls(), { 'Conv2D: NCHW': 1 });
});

const backpropInput = (inputShape: number[], strides: number | [number, number], pad: 'same' | 'valid') => ({ inputShape, strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string });
const backprops: [string, Input, Input, ReturnType<typeof backpropInput>][] = [
  ['3 channels, stride 1, same', input(2, 6, 6, 4), input(3, 3, 3, 4), backpropInput([2, 6, 6, 3], 1, 'same')],
  ['3 channels, stride 2, same', input(2, 5, 5, 4), input(3, 3, 3, 4), backpropInput([2, 10, 10, 3], 2, 'same')],
  ['1 channel, stride 2, valid, ragged', input(3, 4, 3, 5), input(3, 3, 1, 5), backpropInput([3, 9, 8, 1], 2, 'valid')],
  ['a 3x2 filter, strides [1, 2], valid', input(2, 5, 4, 3), input(3, 2, 2, 3), backpropInput([2, 7, 8, 2], [1, 2], 'valid')],
  ['130 in-channels', input(4, 16, 16, 70), input(1, 1, 130, 70), backpropInput([4, 16, 16, 130], 1, 'valid')],
];
for (const [name, dy, filter, attrs] of backprops) {
  gpuTest(`our Conv2DBackpropInput equals cpu: ${name}`, async (t) => {
    await agrees(t, 'Conv2DBackpropInput', { dy, filter }, attrs);
  });
}

// The Keras CNN of `npm run bench -- train-cnn`, small: convolutions with fused relu, pooling,
// dense layers (fused relu, softmax).
const kerasCnn: Family = {
  layers: () => [
    tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
    tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 32, activation: 'relu' }),
    tf.layers.dense({ units: 10, activation: 'softmax' }),
  ],
  x: () => tf.randomUniform([6, 10, 10, 1], 0, 1, 'float32', 3),
  y: () => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'), 10).toFloat(),
  loss: tf.metrics.categoricalCrossentropy,
};
gpuTest("a Keras CNN's training step on webgpu, all its products ours, has the cpu backend's gradients", async (t) => {
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: kerasCnn.layers() });
  const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  model.dispose();
  const cpu = await gradients('cpu', kerasCnn, weights);
  resetDeclinedCalls();
  const profile = await tf.profile(async () => {
    const gpu = await gradients('webgpu', kerasCnn, weights);
    cpu.forEach((expected, i) => {
      const scale = Math.max(1, ...Array.from(expected, Math.abs));
      const worst = Math.max(...Array.from(expected, (v, j) => Math.abs(v - gpu[i]![j]!)));
      t.true(worst < 1e-5 * scale, `variable ${i}: max difference ${worst} (scale ${scale})`);
    });
  });
  const ran = new Set(profile.kernels.map((k) => k.name));
  // While gradients are recorded, TF.js fuses no activation into a convolution: Conv2D runs.
  for (const kernel of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', '_FusedMatMul', 'BatchMatMul']) t.true(ran.has(kernel), `${kernel} ran`);
  t.deepEqual(declinedCalls(), {}, 'none of them went to TF.js');
});
