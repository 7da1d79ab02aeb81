// Builds the TF.js optimizer of a job's spec, and sets its learning rate for a step.
import * as tf from '@tensorflow/tfjs';
import type { Optimizer } from '@syncline/proto';

export function buildOptimizer(spec: Optimizer | undefined): tf.Optimizer {
  const kind = spec?.kind;
  if (!kind) throw new Error('optimizer missing');
  switch (kind.$case) {
    case 'sgd':
      return kind.value.momentum > 0
        ? tf.train.momentum(kind.value.learningRate, kind.value.momentum, kind.value.nesterov)
        : tf.train.sgd(kind.value.learningRate);
    case 'adam':
      return tf.train.adam(kind.value.learningRate, kind.value.beta1, kind.value.beta2, kind.value.epsilon);
    case 'rmsprop':
      return tf.train.rmsprop(kind.value.learningRate, kind.value.rho, kind.value.momentum, kind.value.epsilon);
  }
}

export function baseLearningRate(spec: Optimizer | undefined): number {
  const kind = spec?.kind;
  if (!kind) throw new Error('optimizer missing');
  return kind.value.learningRate;
}

/**
 * Sets the rate the next applyGradients uses. SGD and momentum cache it as a tensor and
 * expose setLearningRate; Adam and RMSProp read their `learningRate` field on every update.
 */
export function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as tf.Optimizer & { setLearningRate?: (lr: number) => void; learningRate?: number };
  // Called every step: SGD's setLearningRate makes a new scalar tensor, so skip an unchanged rate.
  if (o.learningRate === rate) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(rate);
  else o.learningRate = rate;
}
