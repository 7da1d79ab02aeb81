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
import { memorySource } from '../src/data/sample-source.js';
import { GanTrainer, bceSum } from '../src/train/gan-trainer.js';
import { soloAllReduce, type AllReduce } from '../src/train/trainer.js';

/** `conditional`: an AC-GAN (one-hot classes in, a real/fake logit and 10 class logits out). */
const spec = (conditional = false) =>
  validateJobSpec(
    JobSpec.fromJSON({
      name: 'gan-step',
      gan: {
        latentDim: 8,
        conditional,
        generator: [{ dense: { units: 16, activation: 'relu' } }, { dense: { units: 784, activation: 'sigmoid' } }],
        discriminator: [{ dense: { units: 16, activation: 'leakyRelu' } }, { dropout: { rate: 0.3 } }, { dense: conditional ? { units: 11 } : { units: 1, activation: 'sigmoid' } }],
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

test.serial("an AC-GAN's held-out losses carry the class cross-entropy, as its training losses do", async (t) => {
  await selectBackend('wasm');
  const data = loadMnist();
  const s = spec(true);
  const gan = new GanTrainer(s, data);
  try {
    // One step, so that the networks are not at their initial weights only.
    const batch = { x: data.train.x.subarray(0, 16 * 784), y: data.train.y.subarray(0, 16 * 10), count: 16, epoch: 0, samples: Uint32Array.from({ length: 16 }, (_, i) => i) };
    await gan.step(batch, 1, soloAllReduce(gan));
    const got = await gan.evaluate(memorySource(data.heldout, data));

    // The reference: Keras-style pieces, summed over the first 1,000 held-out digits.
    const n = Math.min(data.heldout.count, 1000);
    const [dLoss, gLoss, classPart] = tf.tidy(() => {
      const y = tf.tensor2d(data.heldout.y.subarray(0, n * 10), [n, 10]);
      const z = tf.randomNormal([n, 8], 0, 1, 'float32', s.training!.seed) as tf.Tensor2D;
      const fake = gan.generator.predict(tf.concat([z, y], 1)) as tf.Tensor;
      const split = (out: tf.Tensor) => tf.split(out, [1, 10], 1) as [tf.Tensor2D, tf.Tensor2D];
      const [realLogit, realClasses] = split(gan.discriminator.predict(tf.tensor2d(data.heldout.x.subarray(0, n * 784), [n, 784])) as tf.Tensor);
      const [fakeLogit, fakeClasses] = split(gan.discriminator.predict(fake) as tf.Tensor);
      const bce = (logits: tf.Tensor, label: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, label), logits, undefined, 0, tf.Reduction.SUM);
      const ce = (logits: tf.Tensor2D) => tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.SUM);
      const classes = tf.add(ce(realClasses), ce(fakeClasses));
      return [tf.addN([bce(realLogit, 1), bce(fakeLogit, 0), classes]), tf.add(bce(fakeLogit, 1), ce(fakeClasses)), classes].map((v) => v.dataSync()[0]! / n);
    });
    t.true(classPart! > 0.1, `the class part counts: ${classPart}`);
    t.true(Math.abs(got.loss - dLoss!) < 1e-4 * dLoss!, `discriminator: ${got.loss} vs ${dLoss}`);
    t.true(Math.abs(got.generatorLoss! - gLoss!) < 1e-4 * gLoss!, `generator: ${got.generatorLoss} vs ${gLoss}`);
  } finally {
    gan.dispose();
  }
});
