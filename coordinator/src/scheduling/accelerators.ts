// Which workers a job may run on (WorkersSpec.accelerator), and why a job that asks for an
// accelerator waits: one rule, used by placement, growth and the recovery from a lost worker.
import type { JobSpec } from '@syncline/proto';
import type { ConnectedWorker } from './worker-pool.js';

export const ACCELERATORS = ['any', 'gpu', 'cpu'] as const;

/** How every wait reason begins (a job record's error while it waits). */
export const WAITING_FOR = 'waiting for ';
export type AcceleratorChoice = (typeof ACCELERATORS)[number];

/** The kind a worker computes on; a worker that did not say (an older one) counts as cpu. */
export function acceleratorKind(worker: Pick<ConnectedWorker, 'hello'>): 'gpu' | 'cpu' {
  return worker.hello.accelerator?.kind === 'gpu' ? 'gpu' : 'cpu';
}

/** What the job asks for; validated specs hold one of ACCELERATORS ("" means any). */
export function wanted(spec: JobSpec | undefined): AcceleratorChoice {
  const a = spec?.workers?.accelerator;
  return a === 'gpu' || a === 'cpu' ? a : 'any';
}

export function suits(spec: JobSpec | undefined, worker: Pick<ConnectedWorker, 'hello'>): boolean {
  const want = wanted(spec);
  return want === 'any' || acceleratorKind(worker) === want;
}

/**
 * Why a job that needs `min` workers cannot start on `idle`, or undefined when it can: for a
 * job that asks for an accelerator, counted by kind, so the log says what is missing.
 */
export function waitReason(spec: JobSpec | undefined, idle: readonly Pick<ConnectedWorker, 'hello'>[], min: number): string | undefined {
  const want = wanted(spec);
  const matching = idle.filter((w) => suits(spec, w)).length;
  if (matching >= min) return undefined;
  if (want === 'any') return `${WAITING_FOR}${min} workers (${matching} idle)`;
  const others = idle.length - matching;
  return `${WAITING_FOR}${min} ${want} workers (${matching} idle${others > 0 ? `; ${others} idle ${want === 'gpu' ? 'cpu' : 'gpu'} worker${others === 1 ? '' : 's'} not used: the job asks for workers.accelerator ${want}` : ''})`;
}
