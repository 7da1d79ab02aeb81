// The shapes a GAN spec implies, shared by the coordinator (validation, parameter counts) and
// the workers (building the networks), so both read a conditional GAN the same way.
import type { DatasetTarget } from './datasets.js';
import type { GanSpec } from './gen/syncline/v1/spec.js';

/** Classes a conditional GAN (AC-GAN) draws: the dataset's classes; 0 for an unconditional one. */
export function ganClasses(gan: Pick<GanSpec, 'conditional'>, target: DatasetTarget): number {
  if (!gan.conditional) return 0;
  if (target.kind !== 'classes') throw new Error('a conditional GAN needs a dataset of classes');
  return target.classes;
}

/** The generator's input: the latent vector, followed by the one-hot class when conditional. */
export function generatorInputSize(gan: Pick<GanSpec, 'conditional' | 'latentDim'>, target: DatasetTarget): number {
  return gan.latentDim + ganClasses(gan, target);
}

/** The discriminator's outputs: one "real" probability, or for an AC-GAN a "real" logit and one logit per class. */
export function discriminatorOutputSize(gan: Pick<GanSpec, 'conditional'>, target: DatasetTarget): number {
  return 1 + ganClasses(gan, target);
}
