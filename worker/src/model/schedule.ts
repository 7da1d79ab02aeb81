// Learning-rate schedules: the factor applied to the optimizer's base rate at a step.
import type { LearningRateSchedule } from '@syncline/proto';

/** Factor for 0-based `step` of a job of `totalSteps` steps. */
export function scheduleFactor(schedule: LearningRateSchedule | undefined, step: number, totalSteps: number): number {
  const kind = schedule?.kind;
  if (!kind) return 1;
  switch (kind.$case) {
    case 'stepDecay':
      return kind.value.factor ** Math.floor(step / kind.value.everySteps);
    case 'cosine': {
      const decay = kind.value.decaySteps || totalSteps;
      const progress = Math.min(step, decay) / decay;
      const min = kind.value.minFactor;
      return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
  }
}
