// Membership: putting workers on a job as a new generation, and what losing one means.
import { JobState, objectNames, sharesFromSpeeds, stepsPerEpoch, type Job, type JobSpec } from '@syncline/proto';
import { WAITING_FOR, suits } from './accelerators.js';
import type { SchedulingContext } from './context.js';
import type { ConnectedWorker } from './worker-pool.js';

/** Membership changes after which a job is failed rather than restarted again. */
export const MAX_MEMBERSHIP_CHANGES = 50;

/**
 * Shares in proportion to each worker's last measured speed (equal where none is known yet);
 * the workers refine them while training.
 */
export function initialShares(speeds: (number | undefined)[]): number[] {
  if (speeds.some((s) => !(s && s > 0))) return speeds.map(() => 1);
  return sharesFromSpeeds(speeds as number[]);
}

export function plannedSteps(spec: JobSpec): number {
  // Datasets are validated by now: trainLimit holds the training examples actually used.
  const t = spec.training!;
  const all = t.epochs * stepsPerEpoch(spec.dataset!.trainLimit, t.globalBatchSize);
  return t.maxSteps > 0 ? Math.min(all, t.maxSteps) : all;
}

/**
 * Puts `chosen` on the job as a new generation; the first is rank 0. A worker that trained
 * the previous generation goes on from its own state, handed to the others by rank 0; rank 0
 * without one starts from the job's last checkpoint.
 */
export async function startGeneration(ctx: SchedulingContext, job: Job, chosen: ConnectedWorker[], why: string, finishing = false): Promise<void> {
  const generation = job.generation + 1;
  const ids = chosen.map((w) => w.id);
  for (const w of chosen) w.jobId = job.id;
  const previous = ctx.running.get(job.id);
  ctx.running.set(job.id, {
    generation,
    workers: ids,
    lastPersist: 0,
    step: previous?.step ?? job.checkpointStep,
    totalSteps: job.totalSteps,
    startedAt: Date.now(),
    finishing,
  });
  const changed = job.generation > 0;
  const updated = await ctx.opts.store.update(job.id, (j) => {
    j.state = JobState.JOB_STATE_RUNNING;
    j.generation = generation;
    j.workers = ids;
    if (changed) j.membershipChanges += 1;
    // The reason it waited for an accelerator (accelerators.ts) is over.
    if (j.error.startsWith(WAITING_FOR)) j.error = '';
  });
  ctx.log({ job: job.id, generation, workers: ids, why }, 'generation started');
  const shares = initialShares(chosen.map((w) => w.samplesPerSecond));
  const access = ctx.opts.natsAccess;
  const credentials = access ? await Promise.all(chosen.map(() => access.forWorker(job))) : [];
  chosen.forEach((w, rank) => {
    w.send({
      msg: {
        $case: 'assignment',
        value: {
          jobId: job.id,
          spec: job.spec,
          rank,
          worldSize: chosen.length,
          generation,
          shares,
          artifactPrefix: objectNames.artifactPrefix(job.id, generation),
          allreduceTimeoutSeconds: ctx.opts.allreduceTimeoutSeconds,
          checkpoint: job.checkpointStep > 0 ? job.checkpointObject : '',
          checkpointObject: objectNames.checkpoint(job.id),
          natsCredentials: credentials[rank],
        },
      },
    });
  });
  ctx.announce(updated);
}

/**
 * A worker of a running generation is gone (its stream closed, or it left). The job goes on
 * without it: a new generation of the survivors (and idle workers, up to the maximum) continues
 * from the last completed step; with too few workers left the job waits (PENDING) and later
 * resumes from its last checkpoint. Once training is over only rank 0 matters: losing another
 * rank changes nothing, losing rank 0 hands the finished state to a survivor to publish.
 */
export async function workerGone(ctx: SchedulingContext, jobId: string, lostId: string, reason: string): Promise<void> {
  const run = ctx.running.get(jobId);
  const job = run && (await ctx.opts.store.get(jobId));
  if (!run || !job) return;
  const rank = run.workers.indexOf(lostId);
  const lost = `worker ${lostId} was lost after step ${run.step} (${reason})`;
  ctx.warn({ job: jobId, generation: run.generation, rank, worker: lostId, step: run.step, reason }, 'worker lost');
  const survivors = run.workers
    .filter((id) => id !== lostId)
    .map((id) => ctx.opts.pool.get(id))
    .filter((w): w is ConnectedWorker => w !== undefined && w.jobId === jobId);
  if (run.finishing && rank !== 0) {
    // Its part is done: every replica holds the same final state, and rank 0 publishes it.
    run.workers = run.workers.map((id) => (id === lostId ? '' : id));
    return;
  }
  if (job.membershipChanges >= MAX_MEMBERSHIP_CHANGES) {
    await ctx.finish(jobId, JobState.JOB_STATE_FAILED, `${lost}; the job already changed membership ${job.membershipChanges} times, giving up`, 'too many membership changes');
    return;
  }
  if (run.finishing && survivors.length > 0) {
    await startGeneration(ctx, job, survivors, `${lost}; a survivor evaluates and publishes the finished model`, true);
    return;
  }
  const { min, max } = job.spec!.workers!;
  const candidates = [...survivors, ...ctx.opts.pool.idle().filter((w) => suits(job.spec, w))].slice(0, max);
  if (candidates.length >= min) {
    await startGeneration(ctx, job, candidates, `${lost}; continuing with ${candidates.length}`);
    return;
  }
  // Too few workers: free the survivors and wait; the job resumes from its checkpoint.
  ctx.running.delete(jobId);
  for (const w of survivors) {
    w.send({ msg: { $case: 'cancel', value: { jobId, reason: 'waiting for workers' } } });
    w.jobId = undefined;
  }
  const updated = await ctx.opts.store.update(jobId, (j) => {
    j.state = JobState.JOB_STATE_PENDING;
    j.workers = [];
    j.error = `${lost}; waiting for ${min} workers, then resuming from ${j.checkpointStep > 0 ? `the checkpoint at step ${j.checkpointStep}` : 'step 0 (no checkpoint yet)'}`;
  });
  ctx.announce(updated);
}
