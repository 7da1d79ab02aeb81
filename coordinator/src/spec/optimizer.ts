// Optimizer and learning-rate schedule checks, with Keras' defaults filled in.
import type { LearningRateSchedule, Optimizer } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';
import { integerIn, numberIn, positiveFinite } from './checks.js';

const OPTIMIZER_TYPES = ['sgd', 'adam', 'rmsprop'];

export function validateOptimizer(optimizer: Optimizer | undefined, field: string): Optimizer {
  const kind = optimizer?.kind;
  switch (kind?.$case) {
    case 'sgd': {
      const f = `${field}.sgd`;
      const momentum = numberIn(`${f}.momentum`, kind.value.momentum, 0, 1);
      if (kind.value.nesterov && momentum === 0) throw new InvalidSpecError(`${f}.nesterov`, 'Nesterov momentum needs a momentum above 0');
      return { kind: { $case: 'sgd', value: { learningRate: positiveFinite(`${f}.learningRate`, kind.value.learningRate), momentum, nesterov: kind.value.nesterov } } };
    }
    case 'adam': {
      const f = `${field}.adam`;
      const v = kind.value;
      return {
        kind: {
          $case: 'adam',
          value: {
            learningRate: positiveFinite(`${f}.learningRate`, v.learningRate),
            beta1: v.beta1 === 0 ? 0.9 : numberIn(`${f}.beta1`, v.beta1, 0, 1),
            beta2: v.beta2 === 0 ? 0.999 : numberIn(`${f}.beta2`, v.beta2, 0, 1),
            epsilon: v.epsilon === 0 ? 1e-7 : positiveFinite(`${f}.epsilon`, v.epsilon),
          },
        },
      };
    }
    case 'rmsprop': {
      const f = `${field}.rmsprop`;
      const v = kind.value;
      return {
        kind: {
          $case: 'rmsprop',
          value: {
            learningRate: positiveFinite(`${f}.learningRate`, v.learningRate),
            rho: v.rho === 0 ? 0.9 : numberIn(`${f}.rho`, v.rho, 0, 1),
            momentum: numberIn(`${f}.momentum`, v.momentum, 0, 1),
            epsilon: v.epsilon === 0 ? 1e-7 : positiveFinite(`${f}.epsilon`, v.epsilon),
          },
        },
      };
    }
    default:
      throw new InvalidSpecError(
        field,
        `${optimizer === undefined ? 'is required' : 'unknown or missing optimizer type'}; expected one of: ${OPTIMIZER_TYPES.join(', ')}`,
      );
  }
}

export function validateSchedule(schedule: LearningRateSchedule | undefined, field: string): LearningRateSchedule | undefined {
  const kind = schedule?.kind;
  if (!kind) return undefined;
  switch (kind.$case) {
    case 'stepDecay':
      return {
        kind: {
          $case: 'stepDecay',
          value: {
            factor: numberIn(`${field}.stepDecay.factor`, kind.value.factor, Number.MIN_VALUE, 1, true),
            everySteps: integerIn(`${field}.stepDecay.everySteps`, kind.value.everySteps, 1, 0xffff_ffff),
          },
        },
      };
    case 'cosine':
      return {
        kind: {
          $case: 'cosine',
          value: {
            decaySteps: integerIn(`${field}.cosine.decaySteps`, kind.value.decaySteps, 0, 0xffff_ffff),
            minFactor: numberIn(`${field}.cosine.minFactor`, kind.value.minFactor, 0, 1),
          },
        },
      };
  }
}
