// A GAN step is two all-reduced phases; when the generator's phase fails (a peer lost, a new
// generation), the discriminator's update is undone: the replica is exactly as before the step,
// and redoing the step gives what an uninterrupted step gives.
import test from 'ava';
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadMnist } from '../src/data/mnist.js';
import { GanTrainer } from '../src/train/gan-trainer.js';
import { soloAllReduce, type AllReduce } from '../src/train/trainer.js';

const spec = () =>
  validateJobSpec(
    JobSpec.fromJSON({
      name: 'gan-step',
      gan: {
        latentDim: 8,
        generator: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 16, activation: 'leakyRelu' } }, { dropout: { rate: 0.3 } }, { dense: { units: 1, activation: 'sigmoid' } }],
        generatorOptimizer: { adam: { learningRate: 0.01 } },
        discriminatorOptimizer: { adam: { learningRate: 0.01 } },
      },
      dataset: { name: 'mnist', trainLimit: 64 },
      training: { epochs: 1, globalBatchSize: 16, seed: 3 },
      workers: { min: 1, max: 1 },
    }),
  );

test('a GAN step whose generator phase fails leaves the replica as it was; redone, it equals an uninterrupted step', async (t) => {
  await selectBackend('wasm');
  const data = loadMnist();
  const batch = (epoch: number) => ({ x: data.train.x.subarray(0, 16 * 784), y: data.train.y.subarray(0, 16 * 10), count: 16, epoch, samples: Uint32Array.from({ length: 16 }, (_, i) => i) });
  const interrupted = new GanTrainer(spec(), data);
  const uninterrupted = new GanTrainer(spec(), data);
  try {
    for (const gan of [interrupted, uninterrupted]) await gan.step(batch(0), 1, soloAllReduce(gan));
    const weights = await interrupted.getWeights();
    const optimizers = await interrupted.optimizerStates();

    const solo = soloAllReduce(interrupted);
    const failing: AllReduce = {
      buffer: (phase) => solo.buffer(phase),
      sum: (buffer, phase) => (phase === 1 ? Promise.reject(new Error('peer lost')) : solo.sum(buffer, phase)),
    };
    await t.throwsAsync(interrupted.step(batch(1), 1, failing), { message: 'peer lost' });
    t.deepEqual(await interrupted.getWeights(), weights, 'the discriminator update was undone');
    t.deepEqual(await interrupted.optimizerStates(), optimizers, 'and its optimizer state');

    await interrupted.step(batch(1), 1, soloAllReduce(interrupted));
    await uninterrupted.step(batch(1), 1, soloAllReduce(uninterrupted));
    t.deepEqual(await interrupted.getWeights(), await uninterrupted.getWeights());
  } finally {
    interrupted.dispose();
    uninterrupted.dispose();
  }
});
