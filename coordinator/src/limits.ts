// What one job may ask of the cluster (caps, refused as INVALID_ARGUMENT naming the field) and
// what one user may hold at once (quotas, refused as RESOURCE_EXHAUSTED). Admins have no quota.
import { datasetInfo, type DatasetInfo, type Job, type JobSpec } from '@syncline/proto';
import type { Principal } from './auth/principal.js';
import { InvalidSpecError, QuotaExceededError } from './errors.js';
import { isTerminal, plannedSteps } from './scheduling/scheduler.js';
import { countParameters } from './spec/parameters.js';

export interface Limits {
  /** Weights of one model (a GAN: both networks). */
  maxParameters: number;
  /** Steps of one job. */
  maxTotalSteps: number;
  /** Layers of one network. */
  maxLayers: number;
  /** Largest gRPC message the coordinator accepts, in bytes. */
  maxMessageBytes: number;
  /** Jobs one user may have PENDING or RUNNING at once. */
  maxConcurrentJobsPerUser: number;
  /** Workers (the sum of workers.max) over one user's PENDING and RUNNING jobs. */
  maxWorkersPerUser: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxParameters: 50_000_000,
  maxTotalSteps: 10_000_000,
  maxLayers: 200,
  maxMessageBytes: 16 * 1024 * 1024,
  maxConcurrentJobsPerUser: 20,
  maxWorkersPerUser: 64,
};

/** Throws InvalidSpecError when a validated spec is bigger than the cluster takes. */
export function checkSpecLimits(spec: JobSpec, userDatasets: Readonly<Record<string, DatasetInfo>>, limits: Limits): void {
  const stacks: [string, number][] = spec.gan
    ? [['gan.generator', spec.gan.generator.length], ['gan.discriminator', spec.gan.discriminator.length]]
    : [['model.layers', spec.model?.layers.length ?? 0]];
  for (const [field, count] of stacks) {
    if (count > limits.maxLayers) throw new InvalidSpecError(field, `${count} layers; this cluster takes at most ${limits.maxLayers}`);
  }
  const steps = plannedSteps(spec);
  if (steps > limits.maxTotalSteps) {
    throw new InvalidSpecError('training', `the job would run ${steps} steps; this cluster takes at most ${limits.maxTotalSteps} (lower epochs or set maxSteps)`);
  }
  const name = spec.dataset!.name;
  const info = datasetInfo(name) ?? userDatasets[name];
  if (!info) return;
  const parameters = countParameters(spec, info);
  if (parameters > limits.maxParameters) {
    throw new InvalidSpecError(spec.gan ? 'gan' : 'model', `${parameters} parameters; this cluster takes models of at most ${limits.maxParameters}`);
  }
}

/** Throws QuotaExceededError when `who` already holds as many jobs or workers as a user may. */
export function checkQuotas(who: Principal, spec: JobSpec, jobs: readonly Job[], limits: Limits): void {
  if (who.role === 'admin') return;
  const active = jobs.filter((j) => j.owner === who.name && !isTerminal(j.state));
  if (active.length >= limits.maxConcurrentJobsPerUser) {
    throw new QuotaExceededError(`"${who.name}" has ${active.length} jobs pending or running, the most a user may have at once (${limits.maxConcurrentJobsPerUser}); wait for one to end or cancel one`);
  }
  const workers = active.reduce((sum, j) => sum + (j.spec?.workers?.max ?? 0), 0);
  const wanted = spec.workers!.max;
  if (workers + wanted > limits.maxWorkersPerUser) {
    throw new QuotaExceededError(`"${who.name}" would use ${workers + wanted} workers (${workers} for its jobs pending or running, ${wanted} for this one); a user may use at most ${limits.maxWorkersPerUser}`);
  }
}
