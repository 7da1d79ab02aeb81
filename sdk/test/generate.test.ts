// generate() on a published generator: seeded, reproducible, the generator's own outputs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { loadModel } from '../src/index.js';
import { normalSamples } from '../src/random.js';
import { serveArtifacts } from './helpers/artifact-server.js';
import { publish } from './helpers/reference-model.js';

test.serial('generate() gives seeded samples equal to the generator on the same latent vectors', async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-gan-'));
  const generator = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [8], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: 784, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  const server = await (async () => {
    await publish(generator, root, 'gen', 1);
    return serveArtifacts(root);
  })();
  const before = tf.memory().numTensors;
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'gen', version: 1 }, { backend: 'cpu', cache: false });
  try {
    const a = model.generate(5, { seed: 42 });
    t.is(a.length, 5 * 784);
    t.deepEqual(model.generate(5, { seed: 42 }), a);
    t.notDeepEqual(model.generate(5, { seed: 43 }), a);
    const expected = tf.tidy(() => (generator.predict(tf.tensor2d(normalSamples(5 * 8, 42), [5, 8])) as tf.Tensor).dataSync());
    let worst = 0;
    a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]!))));
    t.true(worst < 1e-5, `max difference ${worst}`);
    t.throws(() => model.generate(0), { instanceOf: RangeError });
    t.throws(() => model.generate(2, { latent: new Float32Array(3) }), { instanceOf: RangeError });
  } finally {
    model.dispose();
    t.is(tf.memory().numTensors, before, 'generate() and dispose() leave no tensor behind');
    generator.dispose();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});

test.serial('features() gives the penultimate layer of a published classifier, and the first rows of generate(n) are generate(m < n)', async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-features-'));
  const classifier = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ filters: 2, kernelSize: 5, strides: 4, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
    ],
  });
  await publish(classifier, root, 'cls', 1);
  const server = await serveArtifacts(root);
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'cls', version: 1 }, { backend: 'cpu', cache: false });
  try {
    const x = tf.randomUniform([3, 784], 0, 1, 'float32', 8);
    const penultimate = tf.model({ inputs: classifier.inputs, outputs: classifier.layers[3]!.output as tf.SymbolicTensor });
    const expected = tf.tidy(() => (penultimate.predict(x) as tf.Tensor).dataSync());
    const got = model.features(x.dataSync() as Float32Array);
    t.is(got.length, 3 * 6);
    got.forEach((v, i) => t.true(Math.abs(v - expected[i]!) < 1e-5, `feature ${i}`));
    x.dispose();
  } finally {
    model.dispose();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
  const generator = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) })] });
  const genRoot = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-gen-'));
  await publish(generator, genRoot, 'g', 1);
  const genServer = await serveArtifacts(genRoot);
  const g = await loadModel({ baseUrl: genServer.baseUrl, name: 'g', version: 1 }, { backend: 'cpu', cache: false });
  try {
    t.deepEqual(g.generate(10, { seed: 3 }).subarray(0, 12), g.generate(4, { seed: 3 }));
  } finally {
    g.dispose();
    await genServer.close();
    await rm(genRoot, { recursive: true, force: true });
  }
});

test.serial('a conditional generator draws the class it is asked for: its latent vector followed by the one-hot class', async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-cgan-'));
  // 6 latent values, then the one-hot of 3 classes.
  const generator = tf.sequential({ layers: [tf.layers.dense({ inputShape: [9], units: 5, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) })] });
  await publish(generator, root, 'cgan', 1, 1, { kind: 'gan-generator', latentDim: 6, conditionClasses: 3, classNames: ['a', 'b', 'c'] });
  const server = await serveArtifacts(root);
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'cgan', version: 1 }, { backend: 'cpu', cache: false });
  try {
    t.is(model.conditionClasses, 3);
    t.deepEqual(model.classNames, ['a', 'b', 'c']);
    const expected = (classes: number[]) => {
      const z = normalSamples(classes.length * 6, 7);
      const input = new Float32Array(classes.length * 9);
      classes.forEach((c, i) => {
        input.set(z.subarray(i * 6, (i + 1) * 6), i * 9);
        input[i * 9 + 6 + c] = 1;
      });
      return tf.tidy(() => (generator.predict(tf.tensor2d(input, [classes.length, 9])) as tf.Tensor).dataSync());
    };
    const close = (a: Float32Array, b: ArrayLike<number>) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) < 1e-5);
    t.true(close(model.generate(4, { seed: 7, classes: [2, 0, 1, 2] }), expected([2, 0, 1, 2])), 'one class per sample');
    t.true(close(model.generate(3, { seed: 7, classes: 1 }), expected([1, 1, 1])), 'one class for all');
    // Without classes: each sample's class is drawn from the seed, one of the three.
    const drawn = model.generate(30, { seed: 7 });
    t.deepEqual(model.generate(30, { seed: 7 }), drawn);
    const matches = [0, 1, 2].map((c) => {
      const one = expected(new Array<number>(30).fill(c));
      return Array.from({ length: 30 }, (_, i) => close(drawn.subarray(i * 5, (i + 1) * 5), one.subarray(i * 5, (i + 1) * 5)));
    });
    t.true(Array.from({ length: 30 }).every((_, i) => matches.filter((m) => m[i]).length === 1), 'each sample is one of the classes');
    t.true(matches.every((m) => m.some(Boolean)), 'and all three classes are drawn');
    t.throws(() => model.generate(2, { classes: 3 }), { instanceOf: RangeError, message: /class 3 is not one of 0..2/ });
    t.throws(() => model.generate(2, { classes: [0] }), { instanceOf: RangeError, message: /1 classes for 2 samples/ });
    t.throws(() => model.generate(2, { latent: new Float32Array(18) }), { instanceOf: RangeError, message: /2 samples need 12/ });
  } finally {
    model.dispose();
    generator.dispose();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
