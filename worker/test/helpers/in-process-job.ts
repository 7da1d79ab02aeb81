// A job trained by several replicas in this process, over the in-memory bus, across generations:
// each generation names the workers that train it (rank order) and their shares, and may stop
// after a step, as a membership change does. Workers keep their state between generations like
// real ones (a session each); generation starts go through an in-memory state store.
import type { Assignment, JobSpec } from '@syncline/proto';
import type { Dataset } from '../../src/data/dataset.js';
import { runJob, type JobSession, type RunJobOptions, type RunJobResult, type StateStore } from '../../src/train/run-job.js';
import { closeWorld, createWorld } from './world.js';

export interface GenerationPlan {
  /** Worker ids in rank order; a worker in several generations keeps its state between them. */
  workers: number[];
  shares: number[];
  /** Stop every rank after this many completed steps of the job (a membership change follows). */
  until?: number;
  algorithm?: 'direct' | 'ring' | 'sharded';
  /** Start from the job's last periodic checkpoint, as after every worker (or the coordinator) was lost; rank 0 stores them when any plan says this. */
  fromCheckpoint?: boolean;
  compression?: 'none' | 'fp16' | 'int8';
}

export function memoryStates(): StateStore {
  const objects = new Map<string, Uint8Array>();
  return {
    save: async (name, bytes) => void objects.set(name, bytes.slice()),
    load: async (name) => objects.get(name),
  };
}

export function assignment(spec: JobSpec, jobId: string, generation: number, rank: number, shares: number[]): Assignment {
  return { jobId, spec, rank, worldSize: shares.length, generation, shares, artifactPrefix: '', allreduceTimeoutSeconds: 30, checkpoint: '', checkpointObject: '', natsCredentials: undefined };
}

const CHECKPOINT = 'checkpoint';

/** Trains `spec` through `plans`; returns the last generation's results, by rank. */
export async function trainInProcess(spec: JobSpec, dataset: Dataset, plans: GenerationPlan[], jobId = 'in-process', extra: Pick<RunJobOptions, 'baseModel'> = {}): Promise<RunJobResult[]> {
  const sessions = new Map<number, JobSession>();
  const states = memoryStates();
  const checkpointed = plans.some((p) => p.fromCheckpoint);
  let results: RunJobResult[] = [];
  for (const [g, plan] of plans.entries()) {
    const generation = g + 1;
    const world = createWorld(plan.workers.length, { jobId, generation, timeoutMs: 30_000, ...(plan.algorithm ? { algorithm: plan.algorithm } : {}), ...(plan.compression ? { compression: plan.compression } : {}) });
    try {
      await Promise.all(world.ranks.map((c) => c.start()));
      const outcomes = await Promise.allSettled(
        world.ranks.map((collective, rank) => {
          const worker = plan.workers[rank]!;
          const session = sessions.get(worker) ?? { step: 0 };
          sessions.set(worker, session);
          const controller = new AbortController();
          return runJob({
            assignment: { ...assignment(spec, jobId, generation, rank, plan.shares), ...(checkpointed ? { checkpointObject: CHECKPOINT, checkpoint: plan.fromCheckpoint ? CHECKPOINT : '' } : {}) },
            dataset,
            ...extra,
            collective,
            session,
            states,
            signal: controller.signal,
            onStep: (m) => {
              if (plan.until !== undefined && m.step >= plan.until) controller.abort(new Error(`generation ${generation} ends after step ${plan.until}`));
            },
          });
        }),
      );
      if (plan.until === undefined) {
        results = outcomes.map((o) => {
          if (o.status === 'rejected') throw o.reason;
          return o.value;
        });
      } else {
        for (const o of outcomes) if (o.status === 'fulfilled') throw new Error(`generation ${generation} finished instead of stopping after step ${plan.until}`);
      }
    } finally {
      closeWorld(world);
    }
  }
  // Replicas of workers that are not in the last generation are done with.
  const last = new Set(plans.at(-1)!.workers);
  for (const [worker, session] of sessions) if (!last.has(worker)) session.replica?.dispose();
  return results;
}

/** One process training alone: the reference every distributed run must equal. */
export async function trainAlone(spec: JobSpec, dataset: Dataset, extra: Pick<RunJobOptions, 'baseModel'> = {}): Promise<RunJobResult> {
  return runJob({
    ...extra,
    assignment: assignment(spec, 'alone', 1, 0, [1]),
    dataset,
    collective: { allReduceSum: async (d) => d, broadcast: async (d) => d! },
  });
}

/** max over tensors of max|a − b| / max|b|: the relative error the equivalence tests bound. */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let k = 0; k < a.length; k++) {
    diff = Math.max(diff, Math.abs(a[k]! - b[k]!));
    norm = Math.max(norm, Math.abs(b[k]!));
  }
  return diff / norm;
}
