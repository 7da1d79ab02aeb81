// Every model family trains on wasm: no kernel of a training step is missing there, and the
// gradients of one step equal the cpu backend's. Serial: each test switches the global backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { kernelsMissingForTraining } from '../src/kernels/missing-kernels.js';
import { families, gradients, sumLoss } from './helpers/model-families.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await selectBackend('wasm');
});

for (const [name, family] of Object.entries(families)) {
  test.serial(`${name}: trains on wasm with the cpu backend's gradients`, async (t) => {
    await tf.setBackend('wasm');
    const model = tf.sequential({ layers: family.layers() });
    t.deepEqual(await kernelsMissingForTraining(model, 'wasm', { loss: sumLoss(family.loss), optimizer: () => tf.train.adam(0.01) }), []);
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();

    const cpu = await gradients('cpu', family, weights);
    const wasm = await gradients('wasm', family, weights);
    cpu.forEach((expected, i) => {
      const scale = Math.max(1, ...Array.from(expected, Math.abs));
      const worst = Math.max(...Array.from(expected, (v, j) => Math.abs(v - wasm[i]![j]!)));
      t.true(worst < 1e-5 * scale, `variable ${i}: max difference ${worst} (scale ${scale})`);
    });
  });
}

test.serial('kernelsMissingForTraining names what a backend lacks', async (t) => {
  await tf.setBackend('wasm');
  const model = tf.sequential({ layers: families.cnn!.layers() });
  // A backend name with no kernels registered lacks every kernel of the step.
  const missing = await kernelsMissingForTraining(model, 'no-such-backend');
  t.true(missing.includes('Conv2DBackpropFilter') && missing.includes('MaxPoolGrad') && missing.includes('FusedBatchNorm'));
  t.is(tf.getBackend(), 'wasm');
  model.dispose();
});
