// A GAN step is two all-reduced phases; when the generator's phase fails (a peer lost, a new
// generation), the discriminator's update is undone: the replica is exactly as before the step,
// and redoing the step gives what an uninterrupted step gives. The discriminator's loss, with
// and without one-sided label smoothing (gan.realLabel), against a plain reference.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { validateJobSpec } from '@syncline/coordinator';
import { JobSpec } from '@syncline/proto';
import { selectBackend } from '../src/backend.js';
import { loadMnist } from '../src/data/mnist.js';
import { GanTrainer, bceSum } from '../src/train/gan-trainer.js';
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

test.serial('a GAN step whose generator phase fails leaves the replica as it was; redone, it equals an uninterrupted step', async (t) => {
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

test.serial('bceSum against a constant label, smoothed or not, equals -Σ (label log p + (1 - label) log (1 - p))', async (t) => {
  await selectBackend('wasm');
  const p = [0.1, 0.5, 0.9, 0.999, 1e-9];
  for (const label of [0, 0.9, 0.75, 1]) {
    let reference = 0;
    for (const v of p) {
      const c = Math.min(Math.max(v, 1e-7), 1 - 1e-7);
      reference -= label * Math.log(c) + (1 - label) * Math.log(1 - c);
    }
    const got = tf.tidy(() => bceSum(tf.tensor1d(p), label).dataSync()[0]!);
    t.true(Math.abs(got - reference) < 1e-4 * Math.abs(reference), `label ${label}: ${got} vs ${reference}`);
  }
});

test.serial('gan.realLabel smooths the real samples\' target in the discriminator loss (the first step\'s loss is linear in it)', async (t) => {
  await selectBackend('wasm');
  const data = loadMnist();
  const batch = { x: data.train.x.subarray(0, 16 * 784), y: data.train.y.subarray(0, 16 * 10), count: 16, epoch: 0, samples: Uint32Array.from({ length: 16 }, (_, i) => i) };
  const firstLoss = async (realLabel: number) => {
    const s = spec();
    s.gan!.realLabel = realLabel;
    const gan = new GanTrainer(s, data);
    try {
      return (await gan.step(batch, 1, soloAllReduce(gan))).loss;
    } finally {
      gan.dispose();
    }
  };
  // The same weights, samples, fakes and dropout masks: only the real samples' target differs.
  const [hard, smooth, smoother] = [await firstLoss(1), await firstLoss(0.9), await firstLoss(0.7)];
  t.not(hard, smooth, 'the label changes the loss');
  t.true(Math.abs((smooth - hard) / 0.1 - (smoother - hard) / 0.3) < 1e-3 * Math.abs(smooth - hard) / 0.1 + 1e-5, `${hard} ${smooth} ${smoother}`);
  // A spec without it (0) trains against 1.
  t.is(await firstLoss(0), hard);
});
