// Activation maximization on a published CNN: the result raises the target (a class logit, or a
// unit of a named layer) far above its value at the start, the reported values equal the
// reference model's at the returned input, a seed gives the same picture, and no tensor is left.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import anyTest, { type TestFn } from 'ava';
import { loadModel, type SynclineModel } from '../src/index.js';
import { serveArtifacts, type ArtifactServer } from './helpers/artifact-server.js';
import { publish } from './helpers/reference-model.js';

interface Context {
  root: string;
  server: ArtifactServer;
  reference: tf.Sequential;
  model: SynclineModel;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-maximize-'));
  const reference = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ name: 'features', filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  await publish(reference, root, 'cnn', 1);
  const server = await serveArtifacts(root);
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'cnn', version: 1 }, { backend: 'cpu', cache: false });
  t.context = { root, server, reference, model };
});
test.after.always(async (t) => {
  t.context.model?.dispose();
  t.context.reference?.dispose();
  await t.context.server?.close();
  if (t.context.root) await rm(t.context.root, { recursive: true, force: true });
});

/** The reference model's class logits (the last layer without its softmax) and probabilities at `input`. */
function referenceScores(reference: tf.Sequential, input: Float32Array): { logits: Float32Array; probabilities: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor2d(input, [1, 784]);
    let h: tf.Tensor = x;
    for (const layer of reference.layers.slice(0, -1)) h = layer.apply(h) as tf.Tensor;
    const [kernel, bias] = reference.layers.at(-1)!.getWeights();
    const logits = tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias!);
    return { logits: logits.dataSync() as Float32Array, probabilities: (reference.predict(x) as tf.Tensor).dataSync() as Float32Array };
  });
}

test.serial('a class: the logit climbs far above its start and above any random input, as the reference model computes it', (t) => {
  const { model, reference } = t.context;
  // The best of 200 random inputs in the same range: what a search without gradients finds.
  const random = new Float32Array(784);
  let seed = 11;
  let bestRandom = -Infinity;
  for (let i = 0; i < 200; i++) {
    for (let k = 0; k < 784; k++) random[k] = ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 10_000) / 10_000;
    bestRandom = Math.max(bestRandom, referenceScores(reference, random).logits[3]!);
  }
  const free = model.maximizeActivation(3, { steps: 60, seed: 1, l2: 0, blurEvery: 0, jitter: 0 });
  const regularized = model.maximizeActivation(3, { steps: 60, seed: 1 });
  for (const result of [free, regularized]) {
    t.is(result.input.length, 784);
    t.true(result.input.every((v) => v >= 0 && v <= 1));
    const { logits } = referenceScores(reference, result.input);
    t.true(Math.abs(logits[3]! - result.activation) < 1e-4 * Math.max(1, Math.abs(result.activation)), `${logits[3]} vs ${result.activation}`);
    t.true(result.activation > bestRandom, `${result.activation} against the best random input's ${bestRandom}`);
  }
  t.true(free.activation > 5 * bestRandom && free.activation > 50 * free.startActivation, `unregularized: from ${free.startActivation} to ${free.activation}`);
  const { probabilities } = referenceScores(reference, free.input);
  t.is(probabilities.indexOf(Math.max(...probabilities)), 3, 'the class is now the prediction');
  t.true(regularized.activation < free.activation, 'the regularizers trade some activation for smoothness');
});

test.serial('a unit of a named layer: its mean activation climbs', (t) => {
  const { model, reference } = t.context;
  const result = model.maximizeActivation(2, { layer: 'features', steps: 40, seed: 2 });
  const mean = tf.tidy(() => {
    const h = reference.layers[1]!.apply(reference.layers[0]!.apply(tf.tensor2d(result.input, [1, 784]))) as tf.Tensor;
    return tf.mean(tf.slice(h, [0, 0, 0, 2], [-1, -1, -1, 1])).dataSync()[0]!;
  });
  t.true(Math.abs(mean - result.activation) < 1e-4 * Math.max(1, mean));
  t.true(result.activation > 1.5 * result.startActivation, `from ${result.startActivation} to ${result.activation}`);
});

test.serial('a seed gives the same input; another seed another; nothing leaks; bad targets are refused', (t) => {
  const { model } = t.context;
  const before = tf.memory().numTensors;
  const a = model.maximizeActivation(7, { steps: 10, seed: 3 });
  const b = model.maximizeActivation(7, { steps: 10, seed: 3 });
  const c = model.maximizeActivation(7, { steps: 10, seed: 4 });
  t.is(tf.memory().numTensors, before);
  t.deepEqual(a.input, b.input);
  t.notDeepEqual(a.input, c.input);
  t.throws(() => model.maximizeActivation(10), { instanceOf: RangeError, message: /unit 10 is not in \[0, 10\)/ });
  t.throws(() => model.maximizeActivation(0, { layer: 'nope' }), { instanceOf: RangeError, message: /no layer "nope"; its layers: reshape/ });
  t.is(tf.memory().numTensors, before);
});

test.serial('a model ending in a linear dense layer and a softmax activation layer: the class logit is the dense output, as with a softmax dense layer', async (t) => {
  const { root, server, reference, model } = t.context;
  const split = tf.sequential({
    layers: [
      tf.layers.reshape({ inputShape: [784], targetShape: [28, 28, 1] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
      tf.layers.activation({ activation: 'softmax' }),
    ],
  });
  // The reference's weights: the same function, its softmax in a layer of its own.
  split.setWeights(reference.getWeights());
  await publish(split, root, 'cnn-activation', 1);
  const loaded = await loadModel({ baseUrl: server.baseUrl, name: 'cnn-activation', version: 1 }, { backend: 'cpu', cache: false });
  const options = { steps: 20, seed: 5 };
  const want = model.maximizeActivation(4, options);
  const got = loaded.maximizeActivation(4, options);
  t.deepEqual(got, want);
  const { logits } = referenceScores(reference, got.input);
  t.true(Math.abs(logits[4]! - got.activation) < 1e-4 * Math.max(1, Math.abs(got.activation)), `${logits[4]} vs ${got.activation}`);
  loaded.dispose();
  split.dispose();
});
