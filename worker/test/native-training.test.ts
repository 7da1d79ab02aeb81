// Every model family trains on the native backend: no kernel of a training step is missing,
// and one step's gradients equal the cpu backend's, on one thread and on three. Serial: each
// test switches the global backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { loadAddon } from '../src/backends/native/addon.js';
import { kernelsMissingForTraining } from '../src/kernels/missing-kernels.js';
import { families, gradients, sumLoss } from './helpers/model-families.js';

test.before(async () => {
  await tf.setBackend('cpu');
  await selectBackend('native', { threads: 1 });
});

for (const [name, family] of Object.entries(families)) {
  test.serial(`${name}: trains on native with the cpu backend's gradients`, async (t) => {
    await tf.setBackend('native');
    const model = tf.sequential({ layers: family.layers() });
    t.deepEqual(await kernelsMissingForTraining(model, 'native', { loss: sumLoss(family.loss), optimizer: () => tf.train.adam(0.01) }), []);
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();

    const cpu = await gradients('cpu', family, weights);
    for (const threads of [1, 3]) {
      const load = loadAddon();
      if ('reason' in load) throw new Error(load.reason);
      load.addon.setThreads(threads);
      const native = await gradients('native', family, weights);
      cpu.forEach((expected, i) => {
        const scale = Math.max(1, ...Array.from(expected, Math.abs));
        const worst = Math.max(...Array.from(expected, (v, j) => Math.abs(v - native[i]![j]!)));
        t.true(worst < 1e-5 * scale, `${threads} threads, variable ${i}: max difference ${worst} (scale ${scale})`);
      });
    }
  });
}
