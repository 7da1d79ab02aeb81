// SynclineModel's inference API on a published reference MLP: top-k, gradient saliency against
// tf.grad on the reference model and against finite differences, images in, warm-up, and no
// tensor left behind by any of it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import anyTest, { type TestFn } from 'ava';
import { loadModel, type SynclineModel } from '../src/index.js';
import { serveArtifacts, type ArtifactServer } from './helpers/artifact-server.js';
import { buildMlp, CLASSES, publish, referenceOutputs, sampleInputs } from './helpers/reference-model.js';

interface Context {
  root: string;
  server: ArtifactServer;
  reference: tf.Sequential;
  model: SynclineModel;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  await tf.setBackend('cpu');
  const root = await mkdtemp(path.join(tmpdir(), 'syncline-sdk-model-'));
  const reference = buildMlp(21);
  await publish(reference, root, 'mlp', 1);
  const server = await serveArtifacts(root);
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'mlp', version: 1 }, { backend: 'cpu', cache: false });
  t.context = { root, server, reference, model };
});
test.after.always(async (t) => {
  t.context.model?.dispose();
  t.context.reference?.dispose();
  await t.context.server?.close();
  if (t.context.root) await rm(t.context.root, { recursive: true, force: true });
});

test.serial('predictTopK gives the k largest outputs of each sample, largest first', (t) => {
  const { model, reference } = t.context;
  const inputs = sampleInputs(3, 4);
  const expected = referenceOutputs(reference, inputs);
  const top = model.predictTopK(inputs, 3);
  t.is(top.length, 3);
  top.forEach((scores, s) => {
    const row = expected.slice(s * CLASSES, (s + 1) * CLASSES);
    const order = row.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score);
    t.deepEqual(scores.map((c) => c.index), order.slice(0, 3).map((c) => c.index));
    scores.forEach((c) => t.true(Math.abs(c.score - row[c.index]!) < 1e-6));
  });
  t.deepEqual(model.predictClass(inputs), top.map(([best]) => best!.index));
  t.is(model.predictTopK(inputs.subarray(0, 784), CLASSES + 5)[0]!.length, CLASSES);
  t.throws(() => model.predictTopK(inputs, 0), { instanceOf: RangeError });
});

test.serial('saliency equals |d output[c] / d input| from tf.grad on the reference model, and finite differences', (t) => {
  const { model, reference } = t.context;
  const inputs = sampleInputs(2, 9);
  const classIndex = 4;
  const saliency = model.saliency(inputs, classIndex);
  t.is(saliency.length, inputs.length);
  const expected = tf.tidy(() => {
    const score = (x: tf.Tensor) => (reference.apply(x) as tf.Tensor).slice([0, classIndex], [2, 1]).sum();
    return Array.from(tf.grad(score)(tf.tensor2d(inputs, [2, 784])).abs().dataSync());
  });
  const worst = expected.reduce((w, e, i) => Math.max(w, Math.abs(e - saliency[i]!)), 0);
  t.true(worst < 1e-6, `differs from tf.grad by ${worst}`);
  // Central differences on the most salient inputs of the first sample.
  const h = 1e-3;
  const strongest = Array.from(saliency.subarray(0, 784)).map((g, i) => [g, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
  for (const [gradient, i] of strongest) {
    const shifted = (delta: number) => {
      const x = inputs.slice(0, 784);
      x[i] = x[i]! + delta;
      return model.predict(x)[classIndex]!;
    };
    const numeric = Math.abs((shifted(h) - shifted(-h)) / (2 * h));
    t.true(Math.abs(numeric - gradient) < 1e-3 + 0.02 * gradient, `input ${i}: ${numeric} vs ${gradient}`);
  }
  t.throws(() => model.saliency(inputs, CLASSES), { instanceOf: RangeError });
});

test.serial('an image is resized to the input and predicts as its prepared values do', (t) => {
  const { model } = t.context;
  const data = new Uint8ClampedArray(140 * 140 * 4);
  for (let p = 0; p < 140 * 140; p++) data.set(p % 140 > 60 && p % 140 < 80 ? [255, 255, 255, 255] : [0, 0, 0, 255], p * 4);
  const image = { data, width: 140, height: 140 };
  const prepared = model.prepareInput(image);
  t.is(prepared.length, 784);
  t.deepEqual(model.predict(image), model.predict(prepared));
  t.deepEqual(model.predictTopK(image, 2, { fit: 'content' }), model.predictTopK(model.prepareInput(image, { fit: 'content' }), 2));
  t.is(model.saliency(image, 1).length, 784);
  t.throws(() => model.predict(new Uint8Array(10)), { instanceOf: RangeError });
  t.deepEqual(model.predict(new Uint8Array(784)), model.predict(new Float32Array(784)), 'any typed array is taken as values');
});

test.serial('nothing leaks: predict, top-k, saliency, warm-up and dispose leave tf.memory() as it was', async (t) => {
  const { server } = t.context;
  const inputs = sampleInputs(4, 2);
  const before = tf.memory().numTensors;
  const model = await loadModel({ baseUrl: server.baseUrl, name: 'mlp', version: 1 }, { backend: 'cpu', cache: false });
  const loaded = tf.memory().numTensors;
  t.true(loaded > before);
  await model.warmup();
  model.predict(inputs);
  model.predictTopK(inputs, 3);
  model.saliency(inputs, 2);
  model.prepareInput(inputs);
  t.is(tf.memory().numTensors, loaded, 'inference keeps only the weights');
  model.dispose();
  t.is(tf.memory().numTensors, before);
  await t.throwsAsync(model.warmup(), { message: /disposed/ });
  t.throws(() => model.saliency(inputs, 0), { message: /disposed/ });
});
