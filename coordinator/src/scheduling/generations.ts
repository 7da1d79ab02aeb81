// Membership: putting workers on a job as a new generation, and what losing one means.
import { JobState, isTransientNatsError, objectNames, sharesFromSpeeds, stepsPerEpoch, type Job, type JobSpec, type NatsCredentials } from '@syncline/proto';
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
 *
 * The workers' NATS access comes first (it creates the job's object store, which a JetStream
 * cluster can refuse while a restarted server rejoins it). Without it nothing changes and the
 * reason is returned: a pending job records it and waits (the scheduler's ticker tries again),
 * or fails where the reason will not pass; a running job is told by its caller.
 */
export async function startGeneration(ctx: SchedulingContext, job: Job, chosen: ConnectedWorker[], why: string, finishing = false): Promise<string | undefined> {
  const credentials = await workerCredentials(ctx, job, chosen.length);
  if (!Array.isArray(credentials)) {
    await notStarted(ctx, job, credentials);
    return credentials.reason;
  }
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
  return undefined;
}

/** Why a generation could not start, and whether that may pass (a NATS outage) or not. */
interface NoAccess {
  reason: string;
  passing: boolean;
}

/** One set of credentials per worker, or why NATS cannot give them. */
async function workerCredentials(ctx: SchedulingContext, job: Job, count: number): Promise<NatsCredentials[] | NoAccess> {
  const access = ctx.opts.natsAccess;
  if (!access) return [];
  try {
    return await Promise.all(Array.from({ length: count }, () => access.forWorker(job)));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // A wait begins with WAITING_FOR, so the job's error is cleared when it starts.
    if (isTransientNatsError(err)) return { reason: `${WAITING_FOR}NATS to give the workers access to the job (${message})`, passing: true };
    return { reason: `could not give the workers access to the job on NATS: ${message}`, passing: false };
  }
}

/** A generation that could not start: a pending job waits with the reason, or fails on one that will not pass. */
async function notStarted(ctx: SchedulingContext, job: Job, { reason, passing }: NoAccess): Promise<void> {
  const pending = job.state === JobState.JOB_STATE_PENDING;
  // The ticker tries a waiting job again every second: a reason already recorded (alone, or in
  // what parked a running job) is not news.
  if (pending && job.error.includes(reason)) return;
  ctx.warn({ job: job.id, generation: job.generation, reason }, 'generation not started');
  if (!pending) return;
  if (passing) ctx.announce(await ctx.opts.store.update(job.id, (j) => (j.error = reason)));
  else await ctx.finish(job.id, JobState.JOB_STATE_FAILED, reason, reason);
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
    const unavailable = await startGeneration(ctx, job, survivors, `${lost}; a survivor evaluates and publishes the finished model`, true);
    if (unavailable !== undefined) await park(ctx, jobId, survivors, `${lost}; ${unavailable}`, 'waiting for NATS');
    return;
  }
  const { min, max } = job.spec!.workers!;
  const candidates = [...survivors, ...ctx.opts.pool.idle().filter((w) => suits(job.spec, w))].slice(0, max);
  if (candidates.length >= min) {
    const unavailable = await startGeneration(ctx, job, candidates, `${lost}; continuing with ${candidates.length}`);
    if (unavailable !== undefined) await park(ctx, jobId, survivors, `${lost}; ${unavailable}`, 'waiting for NATS');
    return;
  }
  await park(ctx, jobId, survivors, `${lost}; waiting for ${min} workers`, 'waiting for workers');
}

/** Frees a running job's survivors (telling them `cancelReason`) and makes it wait (PENDING, `why`); it resumes from its checkpoint. */
async function park(ctx: SchedulingContext, jobId: string, survivors: ConnectedWorker[], why: string, cancelReason: string): Promise<void> {
  ctx.running.delete(jobId);
  for (const w of survivors) {
    w.send({ msg: { $case: 'cancel', value: { jobId, reason: cancelReason } } });
    w.jobId = undefined;
  }
  const updated = await ctx.opts.store.update(jobId, (j) => {
    j.state = JobState.JOB_STATE_PENDING;
    j.workers = [];
    j.error = `${why}, then resuming from ${j.checkpointStep > 0 ? `the checkpoint at step ${j.checkpointStep}` : 'step 0 (no checkpoint yet)'}`;
  });
  ctx.announce(updated);
}
