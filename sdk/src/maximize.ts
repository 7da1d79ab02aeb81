// Activation maximization: the input that maximizes a class score (or one unit of a named layer),
// found by gradient ascent from a plain grey start with the usual regularizers: L2 decay pulls
// values back towards the start, random jitter (a shift of the whole image each step) and an
// occasional Gaussian blur suppress high-frequency patterns the network happens to respond to.
// A class's score is its pre-softmax logit when the last layer is a softmax dense layer (so
// raising it does not just mean lowering the others), else the output itself.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { imageTarget } from './image.js';
import { mulberry32 } from './random.js';

export interface MaximizeOptions {
  /** Gradient-ascent steps (default 200). */
  steps?: number;
  /** Step size, as the largest change of one value per step (the gradient is scaled to it; default 0.05). */
  stepSize?: number;
  /** Weight decay towards the start per step (default 0.002). */
  l2?: number;
  /** Largest shift, in pixels, of the random jitter applied before each step (default 1; 0: none). */
  jitter?: number;
  /** Blur with a 3x3 Gaussian every this many steps (default 4; 0: never). */
  blurEvery?: number;
  /** Values are kept in [min, max] (default [0, 1], the range of pixel inputs). */
  range?: [number, number];
  /** Seeds the starting noise and the jitter (default 0): the same seed gives the same result. */
  seed?: number;
  /** Maximize a unit of this layer (by name) instead of a class: its mean over positions. */
  layer?: string;
}

export interface MaximizedInput {
  /** The input, in the model's input layout. */
  input: Float32Array;
  /** The objective (class logit or unit activation) at the start and at the end. */
  startActivation: number;
  activation: number;
}

/**
 * Sum of `model`'s layers applied in order up to `last` (by index), with the logits instead of the
 * probabilities when the model ends in softmax (a softmax dense layer, or a softmax activation layer).
 */
function objective(model: LayersModel, x: tf.Tensor, index: number, layerIndex: number | undefined): tf.Scalar {
  const layers = model.layers;
  const end = layerIndex ?? layers.length - 1;
  let h = x;
  for (let i = 0; i <= end; i++) {
    const layer = layers[i]!;
    const config = layer.getConfig();
    // A softmax activation layer's input is the logits.
    if (layerIndex === undefined && i === end && layer.getClassName() === 'Activation' && config.activation === 'softmax') break;
    if (layerIndex === undefined && i === end && layer.getClassName() === 'Dense' && config.activation === 'softmax') {
      const [kernel, bias] = layer.getWeights();
      h = tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D);
      if (bias) h = tf.add(h, bias);
    } else {
      h = layer.apply(h, { training: false }) as tf.Tensor;
    }
  }
  const units = h.shape[h.shape.length - 1]!;
  // The unit's mean over every position (all but the last axis).
  return tf.mean(tf.slice(tf.reshape(h, [-1, units]), [0, index], [-1, 1]));
}

/** A shift of a (1, h, w, c) image by (dy, dx) with wrap-around. */
function roll(image: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = image.shape;
  const rollAxis = (t: tf.Tensor4D, shift: number, axis: 1 | 2, size: number) => {
    const s = ((shift % size) + size) % size;
    if (s === 0) return t;
    const [a, b] = tf.split(t, [size - s, s], axis);
    return tf.concat([b!, a!], axis) as tf.Tensor4D;
  };
  return rollAxis(rollAxis(image, dy, 1, h), dx, 2, w);
}

export function maximizeActivation(model: LayersModel, inputShape: number[], index: number, options: MaximizeOptions = {}): MaximizedInput {
  const steps = options.steps ?? 200;
  const stepSize = options.stepSize ?? 0.05;
  const l2 = options.l2 ?? 0.002;
  const jitter = options.jitter ?? 1;
  const blurEvery = options.blurEvery ?? 4;
  const [lo, hi] = options.range ?? [0, 1];
  const random = mulberry32(options.seed ?? 0);
  const image = imageTarget(inputShape);
  let layerIndex: number | undefined;
  if (options.layer !== undefined) {
    layerIndex = model.layers.findIndex((l) => l.name === options.layer);
    if (layerIndex < 0) throw new RangeError(`the model has no layer ${JSON.stringify(options.layer)}; its layers: ${model.layers.map((l) => l.name).join(', ')}`);
  }
  const outputUnits = (layerIndex === undefined ? model.outputs[0]!.shape : model.layers[layerIndex]!.outputShape).at(-1);
  if (typeof outputUnits !== 'number' || !Number.isInteger(index) || index < 0 || index >= outputUnits) throw new RangeError(`unit ${index} is not in [0, ${outputUnits})`);

  const size = image.height * image.width * image.channels;
  const start = new Float32Array(size);
  const middle = (lo + hi) / 2;
  for (let i = 0; i < size; i++) start[i] = middle + 0.01 * (hi - lo) * (random() - 0.5);
  const score = (x: tf.Tensor4D) => objective(model, tf.reshape(x, [1, ...inputShape]), index, layerIndex);
  const blurKernel = tf.tidy(() => {
    const g = tf.tensor1d([0.25, 0.5, 0.25]);
    return tf.tile(tf.reshape(tf.outerProduct(g, g), [3, 3, 1, 1]), [1, 1, image.channels, 1]) as tf.Tensor4D;
  });
  let x = tf.tensor4d(start, [1, image.height, image.width, image.channels]);
  const startActivation = tf.tidy(() => score(x).dataSync()[0]!);
  try {
    for (let step = 0; step < steps; step++) {
      const dy = Math.round((2 * random() - 1) * jitter);
      const dx = Math.round((2 * random() - 1) * jitter);
      const next = tf.tidy(() => {
        const shifted = roll(x, dy, dx);
        const g = tf.grad((v: tf.Tensor) => score(v as tf.Tensor4D))(shifted) as tf.Tensor4D;
        const scaled = tf.div(g, tf.add(tf.max(tf.abs(g)), 1e-12));
        let moved = roll(tf.add(shifted, tf.mul(scaled, stepSize)) as tf.Tensor4D, -dy, -dx);
        moved = tf.sub(moved, tf.mul(tf.sub(moved, middle), l2)) as tf.Tensor4D;
        if (blurEvery > 0 && (step + 1) % blurEvery === 0) moved = tf.depthwiseConv2d(moved, blurKernel, 1, 'same');
        return tf.clipByValue(moved, lo, hi) as tf.Tensor4D;
      });
      x.dispose();
      x = next;
    }
    const activation = tf.tidy(() => score(x).dataSync()[0]!);
    return { input: Float32Array.from(x.dataSync()), startActivation, activation };
  } finally {
    x.dispose();
    blurKernel.dispose();
  }
}
