// Every model family trains on wasm: no kernel of a training step is missing there, and the
// gradients of one step equal the cpu backend's. Serial: each test switches the global backend.
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { kernelsMissingForTraining } from '../src/kernels/missing-kernels.js';

interface Family {
  layers: () => tf.layers.Layer[];
  x: () => tf.Tensor;
  y: () => tf.Tensor;
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
}

const labels = () => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5).toFloat();
const tokens = (length: number) => tf.floor(tf.randomUniform([8, length], 0, 30, 'float32', 2));

// upSampling2d is left out: the cpu backend's ResizeNearestNeighborGrad is wrong for batches
// above 1 (it offsets dy by the input's batch stride), so it cannot serve as the reference.
const families: Record<string, Family> = {
  cnn: {
    layers: () => [
      tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, activation: 'relu', padding: 'same', strides: 2 }),
      tf.layers.conv2d({ filters: 5, kernelSize: [2, 3], strides: [1, 2] }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.averagePooling2d({ poolSize: 1 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ],
    x: () => tf.randomNormal([8, 12, 12, 3], 0, 1, 'float32', 1),
    y: labels,
    loss: tf.metrics.categoricalCrossentropy,
  },
  rnn: {
    layers: () => [
      tf.layers.embedding({ inputDim: 30, outputDim: 8, inputLength: 6 }),
      tf.layers.simpleRNN({ units: 6, returnSequences: true }),
      tf.layers.lstm({ units: 8, returnSequences: true }),
      tf.layers.gru({ units: 8 }),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ],
    x: () => tokens(6),
    y: labels,
    loss: tf.metrics.categoricalCrossentropy,
  },
  gan: {
    layers: () => [
      tf.layers.dense({ inputShape: [10], units: 16 }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dense({ units: 16, activation: 'tanh' }),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
    x: () => tf.randomNormal([8, 10], 0, 1, 'float32', 3),
    y: () => tf.tensor2d([0, 1, 1, 0, 1, 0, 0, 1], [8, 1]),
    loss: tf.metrics.binaryCrossentropy,
  },
  convolutionGenerator: {
    layers: () => [
      tf.layers.conv2dTranspose({ inputShape: [5, 5, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
      tf.layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
    x: () => tf.randomNormal([8, 5, 5, 2], 0, 1, 'float32', 4),
    y: () => tf.ones([8, 1]),
    loss: tf.metrics.binaryCrossentropy,
  },
  conv1d: {
    layers: () => [
      tf.layers.embedding({ inputDim: 30, outputDim: 8, inputLength: 10 }),
      tf.layers.conv1d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.maxPooling1d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ],
    x: () => tokens(10),
    y: labels,
    loss: tf.metrics.categoricalCrossentropy,
  },
};

test.before(async () => {
  await tf.setBackend('cpu');
  await selectBackend('wasm');
});

const sumLoss = (f: Family['loss']) => (t: tf.Tensor, p: tf.Tensor) => tf.sum(f(t, p)) as tf.Scalar;

/** One step's gradients on a backend, from the given initial weights. */
async function gradients(backend: string, family: Family, weights: Float32Array[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = tf.sequential({ layers: family.layers() });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape)));
  const x = family.x();
  const y = family.y();
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => sumLoss(family.loss)(y, model.apply(x, { training: true }) as tf.Tensor), variables);
  const out = variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

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
