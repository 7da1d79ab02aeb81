// Builds the TF.js optimizer of a job's spec.
import * as tf from '@tensorflow/tfjs';
import type { Optimizer } from '@syncline/proto';

export function buildOptimizer(spec: Optimizer | undefined): tf.Optimizer {
  const kind = spec?.kind;
  if (!kind) throw new Error('optimizer missing');
  switch (kind.$case) {
    case 'sgd':
      return kind.value.momentum > 0
        ? tf.train.momentum(kind.value.learningRate, kind.value.momentum)
        : tf.train.sgd(kind.value.learningRate);
  }
}
