// One small model of every family a job can train (convolutions with batch norm and pooling,
// embeddings with recurrent layers, a GAN discriminator, convolutional generators (transposed
// convolutions, upsampling), conv1d,
// dropout, activation layers), and one step's gradients of it on a backend: what the training tests of every
// backend compare with the cpu backend's.
import * as tf from '@tensorflow/tfjs';

export interface Family {
  layers: () => tf.layers.Layer[];
  x: () => tf.Tensor;
  y: () => tf.Tensor;
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
}

const labels = () => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5).toFloat();
const tokens = (length: number) => tf.floor(tf.randomUniform([8, length], 0, 30, 'float32', 2));

// upSampling2d trains on the corrected cpu resize gradients (worker/src/kernels/cpu/), which
// resize-kernels.test.ts checks against a reference of matrix products.
export const families: Record<string, Family> = {
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
  dcganGenerator: {
    layers: () => [
      tf.layers.dense({ inputShape: [6], units: 3 * 3 * 4 }),
      tf.layers.reshape({ targetShape: [3, 3, 4] }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }),
      tf.layers.upSampling2d({ size: [2, 3] }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization(),
      tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }),
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: [3, 2], strides: [1, 2], padding: 'valid', activation: 'sigmoid' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1, activation: 'sigmoid' }),
    ],
    x: () => tf.randomNormal([8, 6], 0, 1, 'float32', 6),
    y: () => tf.tensor2d([0, 1, 1, 0, 1, 0, 0, 1], [8, 1]),
    loss: tf.metrics.binaryCrossentropy,
  },
  // The activation layer kind: batch norm between a layer and its activation (every activation
  // a job can name; leakyRelu is a LeakyReLU layer), softmax over channels too.
  activationLayers: {
    layers: () => [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2 }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.activation({ activation: 'elu' }),
      tf.layers.activation({ activation: 'tanh' }),
      tf.layers.activation({ activation: 'softmax' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5 }),
      tf.layers.activation({ activation: 'sigmoid' }),
      tf.layers.activation({ activation: 'linear' }),
      tf.layers.activation({ activation: 'softmax' }),
    ],
    x: () => tf.randomNormal([8, 8, 8, 2], 0, 1, 'float32', 7),
    y: labels,
    loss: tf.metrics.categoricalCrossentropy,
  },
  dropout: {
    layers: () => [
      tf.layers.dense({ inputShape: [12], units: 16, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.3, seed: 7 }),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ],
    x: () => tf.randomNormal([8, 12], 0, 1, 'float32', 5),
    y: labels,
    loss: tf.metrics.categoricalCrossentropy,
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

export const sumLoss = (f: Family['loss']) => (t: tf.Tensor, p: tf.Tensor) => tf.sum(f(t, p)) as tf.Scalar;

/** One step's gradients on a backend, from the given initial weights. */
export async function gradients(backend: string, family: Family, weights: Float32Array[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = tf.sequential({ layers: family.layers() });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape)));
  const x = family.x();
  const y = family.y();
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => sumLoss(family.loss)(y, model.apply(x, { training: true }) as tf.Tensor), variables);
  // data(), not dataSync(): a GPU backend reads back asynchronously.
  const out = await Promise.all(variables.map(async (v) => (await grads[v.name]!.data()) as Float32Array));
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

