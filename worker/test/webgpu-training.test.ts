// Every model family trains on webgpu: no kernel of a training step is missing there, and one
// step's gradients equal the cpu backend's within float tolerance (a GPU sums in another order).
// Without a GPU it runs on SwiftShader (Debian's chromium package ships it); CI has chromium,
// so there a missing adapter fails instead of skipping. Serial: each test switches the backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { releaseWebGPU } from '../src/backends/webgpu/backend.js';
import { conv2DBackpropFilterConfig } from '../src/backends/webgpu/kernels/Conv2DBackpropFilter.js';
import { declinedCalls, resetDeclinedCalls } from '../src/backends/webgpu/kernels/theirs.js';
import { kernelsMissingForTraining } from '../src/kernels/missing-kernels.js';
import { discrepancyOn, TOLERANCE, values } from './helpers/kernel-check.js';
import { families, gradients, sumLoss } from './helpers/model-families.js';

await tf.setBackend('cpu');
const selected = await selectBackend('webgpu').catch((err: Error) => err);
const unavailable = selected instanceof Error ? selected.message : undefined;
const gpuTest = unavailable && !process.env.CI ? test.skip : test.serial;

if (unavailable) test.serial(`webgpu has an adapter${process.env.CI ? '' : ` (skipped: ${unavailable})`}`, (t) => {
  if (process.env.CI) t.fail(`CI installs chromium (SwiftShader), so webgpu must run: ${unavailable}`);
  else t.pass();
});
test.after.always(() => releaseWebGPU());

gpuTest('the worker reports its adapter', (t) => {
  if (selected instanceof Error) return t.fail(selected.message);
  t.is(selected.name, 'webgpu');
  t.truthy(selected.adapter?.vendor);
  t.true(selected.adapter!.maxStorageBufferBindingSize > 0);
  t.regex(selected.reason, /buffers up to \d+ MiB/);
});

for (const [name, family] of Object.entries(families)) {
  gpuTest(`${name}: trains on webgpu with the cpu backend's gradients`, async (t) => {
    await tf.setBackend('webgpu');
    const model = tf.sequential({ layers: family.layers() });
    t.deepEqual(await kernelsMissingForTraining(model, 'webgpu', { loss: sumLoss(family.loss), optimizer: () => tf.train.adam(0.01) }), []);
    const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
    model.dispose();

    const cpu = await gradients('cpu', family, weights);
    resetDeclinedCalls();
    const gpu = await gradients('webgpu', family, weights);
    t.is(tf.getBackend(), 'webgpu');
    t.deepEqual(declinedCalls(), {}, "our WGSL kernels ran every product and convolution; none went to TF.js's");
    cpu.forEach((expected, i) => {
      const scale = Math.max(1, ...Array.from(expected, Math.abs));
      const worst = Math.max(...Array.from(expected, (v, j) => Math.abs(v - gpu[i]![j]!)));
      t.true(worst < 1e-5 * scale, `variable ${i}: max difference ${worst} (scale ${scale})`);
    });
  });
}

// Layers on the way (conv2dTranspose, upSampling2d) run these; TF.js's webgpu backend has them.
// (Batch 1 and square images for ResizeBilinearGrad date from before the cpu reference's
// resize gradients were corrected, worker/src/kernels/cpu/; the model families cover the rest.)
const resize = { images: { values: values(1 * 5 * 7 * 3, 11), shape: [1, 5, 7, 3] } };
const square = { values: values(1 * 6 * 6 * 3, 15), shape: [1, 6, 6, 3] };
const resizeGrad = (h: number, w: number, images = resize.images) => ({ images, dy: { values: values(h * w * 3, 12), shape: [1, h, w, 3] } });
const kernelCases: [string, Parameters<ReturnType<typeof discrepancyOn>>][] = [
  ['ResizeNearestNeighbor', ['ResizeNearestNeighbor', resize, { size: [10, 14], alignCorners: false, halfPixelCenters: false }]],
  ['ResizeNearestNeighborGrad', ['ResizeNearestNeighborGrad', resizeGrad(10, 14), { alignCorners: false, halfPixelCenters: false }]],
  ['ResizeBilinear', ['ResizeBilinear', resize, { size: [9, 12], alignCorners: false, halfPixelCenters: true }]],
  ['ResizeBilinearGrad', ['ResizeBilinearGrad', resizeGrad(9, 13, square), { alignCorners: true, halfPixelCenters: false }]],
  [
    'Conv2DBackpropInput',
    ['Conv2DBackpropInput', { dy: { values: values(2 * 5 * 5 * 4, 13), shape: [2, 5, 5, 4] }, filter: { values: values(3 * 3 * 3 * 4, 14), shape: [3, 3, 3, 4] } }, { inputShape: [2, 10, 10, 3], strides: [2, 2], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined as unknown as string }],
  ],
];
for (const [name, args] of kernelCases) {
  gpuTest(`${name} on webgpu equals cpu`, async (t) => {
    t.truthy(tf.getKernel(name, 'webgpu'), `${name} is registered for webgpu`);
    const d = await discrepancyOn('webgpu')(...args);
    t.true(typeof d === 'number' && d < TOLERANCE, `discrepancy ${d}`);
  });
}

// Ours (backends/webgpu/kernels): the filter gradient as an implicit GEMM whose long sum over
// the batch's pixels is split where the filter alone gives too few workgroups.
const filterGrad = (x: number[], dy: number[], filterShape: number[], strides: number, pad: 'same' | 'valid' | number) => ({
  x: { values: values(x.reduce((a, b) => a * b, 1), 21), shape: x },
  dy: { values: values(dy.reduce((a, b) => a * b, 1), 22), shape: dy },
  attrs: { filterShape, strides: [strides, strides], pad, dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string },
});
const filterCases = {
  'one sample': filterGrad([1, 7, 7, 3], [1, 4, 4, 5], [3, 3, 3, 5], 2, 'same'),
  'five samples, padded': filterGrad([5, 6, 8, 2], [5, 6, 8, 4], [3, 2, 2, 4], 1, 'same'),
  'twenty samples, 64 channels': filterGrad([20, 6, 6, 64], [20, 4, 4, 64], [3, 3, 64, 64], 1, 'valid'),
  'the sum over pixels split in two': filterGrad([4, 14, 14, 3], [4, 12, 12, 8], [3, 3, 3, 8], 1, 'valid'),
};
for (const [name, c] of Object.entries(filterCases)) {
  gpuTest(`our Conv2DBackpropFilter on webgpu equals cpu: ${name}`, async (t) => {
    t.is(tf.getKernel('Conv2DBackpropFilter', 'webgpu'), conv2DBackpropFilterConfig, 'ours is registered');
    resetDeclinedCalls();
    const d = await discrepancyOn('webgpu')('Conv2DBackpropFilter', { x: c.x, dy: c.dy }, c.attrs);
    t.true(typeof d === 'number' && d < TOLERANCE, `discrepancy ${d}`);
    t.deepEqual(declinedCalls(), {}, 'ours ran it');
  });
}
