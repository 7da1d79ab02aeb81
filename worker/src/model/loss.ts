// Losses as the sum over samples (workers add their sums; the division by the global sample
// count happens once, after the all-reduce), and the metrics' sums.
import * as tf from '@tensorflow/tfjs';

type PerSample = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

// Targets of classification datasets are stored one-hot, so the sparse loss is the
// categorical one on the same numbers (the labels are the argmax of the one-hot rows).
const perSample: Record<string, PerSample> = {
  meanSquaredError: (t, p) => tf.metrics.meanSquaredError(t, p),
  binaryCrossentropy: (t, p) => tf.metrics.binaryCrossentropy(t, p),
  categoricalCrossentropy: (t, p) => tf.metrics.categoricalCrossentropy(t, p),
  sparseCategoricalCrossentropy: (t, p) => tf.metrics.categoricalCrossentropy(t, p),
};

export function lossFunction(name: string): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  const f = Object.hasOwn(perSample, name) ? perSample[name] : undefined;
  if (!f) throw new Error(`unknown loss ${JSON.stringify(name)}`);
  return (t, p) => tf.sum(f(t, p)) as tf.Scalar;
}

/** Samples whose predicted class (argmax, or p > 0.5 for one output) matches the target. */
export function correctCount(yTrue: tf.Tensor2D, yPred: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    if (yTrue.shape[1] === 1) {
      return tf.sum(tf.cast(tf.equal(tf.greater(yPred, 0.5), tf.greater(yTrue, 0.5)), 'float32'));
    }
    return tf.sum(tf.cast(tf.equal(tf.argMax(yPred, 1), tf.argMax(yTrue, 1)), 'float32'));
  });
}

/** Sum over samples of the mean absolute error of each sample. */
export function absoluteErrorSum(yTrue: tf.Tensor2D, yPred: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mean(tf.abs(tf.sub(yPred, yTrue)), 1)));
}
