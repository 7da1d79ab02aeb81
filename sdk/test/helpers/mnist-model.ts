// A small MLP trained on the real MNIST digits (@syncline/worker/mnist), deterministically
// (seeded initialisers, no shuffling), so tests can reason about a model that predicts
// something rather than about random weights.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadMnist } from '@syncline/worker/mnist';

export interface TrainOptions {
  hidden?: number;
  epochs?: number;
  seed?: number;
}

/** 784 → hidden relu → 10 softmax, trained with Adam on the 8,000 training digits (on wasm). */
export async function trainMnistMlp({ hidden = 32, epochs = 3, seed = 1 }: TrainOptions = {}): Promise<tf.Sequential> {
  await tf.setBackend('wasm');
  const { train } = loadMnist();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.002), loss: 'categoricalCrossentropy' });
  const x = tf.tensor2d(train.x, [train.count, 784]);
  const y = tf.tensor2d(train.y, [train.count, 10]);
  try {
    await model.fit(x, y, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
  } finally {
    x.dispose();
    y.dispose();
  }
  return model;
}

/** The fraction of held-out digits whose predicted class is right. */
export function heldoutAccuracy(predictClass: (x: Float32Array) => number[]): number {
  const { heldout } = loadMnist();
  const predicted = predictClass(heldout.x);
  return predicted.filter((cls, i) => heldout.y[i * 10 + cls] === 1).length / heldout.count;
}
