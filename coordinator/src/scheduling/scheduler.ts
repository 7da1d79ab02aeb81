// The control loop: jobs wait (PENDING) until enough idle workers are connected, then run on
// a generation of ranked workers until rank 0 reports the published artifacts, a worker fails
// or is lost, or the user cancels. Every transition is written to the job store first and then
// announced, and all transitions run one at a time. The parts: generations.ts (membership),
// growth.ts (placement), publishing.ts (the end of a job), step-reports.ts, timelines.ts.
import { randomUUID } from 'node:crypto';
import { Job, JobState, objectNames, type CheckpointSaved, type DatasetInfo, type JobFailed, type JobFinished, type JobSpec, type StepReport } from '@syncline/proto';
import { JobNotFoundError, JobStateError } from '../errors.js';
import type { BaseModelInfo } from '../spec/base-model.js';
import { validateJobSpec } from '../spec/validate.js';
import { isTerminal, type Running, type SchedulerOptions, type SchedulingContext } from './context.js';
import { plannedSteps, workerGone } from './generations.js';
import { placeAndGrow } from './growth.js';
import { trainingFinished } from './publishing.js';
import { stepReported } from './step-reports.js';
import { keepTimeline } from './timelines.js';

export { isTerminal, type Publisher, type SchedulerOptions } from './context.js';
export { initialShares, plannedSteps } from './generations.js';

export class Scheduler {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly running = new Map<string, Running>();
  private readonly ctx: SchedulingContext;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    const logger = opts.logger;
    this.ctx = {
      opts,
      running: this.running,
      log: (fields, msg) => logger?.info(fields, msg),
      warn: (fields, msg) => logger?.warn(fields, msg),
      announce: (job) => this.announce(job),
      finish: (jobId, state, error, reason) => this.finish(jobId, state, error, reason),
      schedule: () => placeAndGrow(this.ctx),
    };
  }

  /** Re-checks waiting and growable jobs now and then (a generation becomes old enough to grow). */
  startTicker(intervalMs = 1000): void {
    this.ticker = setInterval(() => {
      if (this.opts.pool.idle().length > 0) void this.serial(() => placeAndGrow(this.ctx)).catch((err) => this.ctx.warn({ err: String(err) }, 'scheduling failed'));
    }, intervalMs);
    this.ticker.unref();
  }

  stopTicker(): void {
    clearInterval(this.ticker);
  }

  /** Runs `fn` after every transition already queued, so transitions never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private announce(job: Job): Job {
    this.opts.events.emit(job.id, { kind: 'job', job });
    return job;
  }

  /** After a restart: jobs that were running lost their workers' stream; they start again. */
  recover(): Promise<void> {
    return this.serial(async () => {
      for (const job of await this.opts.store.list()) {
        if (job.state !== JobState.JOB_STATE_RUNNING) continue;
        const updated = await this.opts.store.update(job.id, (j) => {
          j.state = JobState.JOB_STATE_PENDING;
          j.workers = [];
          j.error =
            j.checkpointStep > 0
              ? `coordinator restarted during generation ${j.generation}; the job resumes from its checkpoint at step ${j.checkpointStep}`
              : `coordinator restarted during generation ${j.generation}; the job restarts from step 0 (no checkpoint yet)`;
        });
        this.ctx.log({ job: job.id, generation: job.generation, checkpoint: job.checkpointStep }, 'requeued after a coordinator restart');
        this.announce(updated);
      }
      await placeAndGrow(this.ctx);
    });
  }

  /**
   * `userDatasets`: descriptions of uploaded datasets the spec may name; `baseModel`: the registered
   * model its model.base names; `owner`: the submitting token's name; `admit`: throws to refuse
   * the job given every stored job (quotas), checked in the same transition that stores it, so
   * that submissions at once cannot all pass on the same count.
   */
  submit(spec: JobSpec | undefined, userDatasets: Readonly<Record<string, DatasetInfo>> = {}, baseModel?: BaseModelInfo, owner = '', admit?: (jobs: readonly Job[]) => void): Promise<Job> {
    const normalized = validateJobSpec(spec, userDatasets, baseModel);
    return this.serial(async () => {
      admit?.(await this.opts.store.list());
      const now = Date.now();
      const job = Job.fromPartial({
        id: `job-${randomUUID().slice(0, 8)}`,
        spec: normalized,
        state: JobState.JOB_STATE_PENDING,
        createdUnixMs: now,
        updatedUnixMs: now,
        totalSteps: plannedSteps(normalized),
        owner,
      });
      await this.opts.store.create(job);
      this.ctx.log({ job: job.id, name: normalized.name, steps: job.totalSteps, owner }, 'job submitted');
      this.announce(job);
      await placeAndGrow(this.ctx);
      return (await this.opts.store.get(job.id)) ?? job;
    });
  }

  cancel(jobId: string): Promise<Job> {
    return this.serial(async () => {
      const job = await this.opts.store.get(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      if (isTerminal(job.state)) {
        throw new JobStateError(`job ${jobId} is already ${JobState[job.state].replace('JOB_STATE_', '')}`);
      }
      const updated = await this.finish(jobId, JobState.JOB_STATE_CANCELLED, 'cancelled by user', 'cancelled by user');
      await placeAndGrow(this.ctx);
      return updated;
    });
  }

  workerJoined(): Promise<void> {
    return this.serial(() => placeAndGrow(this.ctx));
  }

  /** A worker closed its stream, stopped heartbeating, or left (SIGTERM): its job goes on without it. */
  workerLost(workerId: string, reason: string): Promise<void> {
    return this.serial(async () => {
      const jobId = this.opts.pool.remove(workerId)?.jobId;
      if (jobId) await workerGone(this.ctx, jobId, workerId, reason);
      await placeAndGrow(this.ctx);
    });
  }

  /** Rank 0 stored a checkpoint: remember it, so a restart resumes from there. */
  checkpointSaved(workerId: string, msg: CheckpointSaved): Promise<void> {
    return this.serial(async () => {
      const run = this.running.get(msg.jobId);
      if (!run || run.generation !== msg.generation || run.workers[0] !== workerId) return;
      // Only the object the job was given: a worker cannot point a job at another's state.
      if (msg.object !== objectNames.checkpoint(msg.jobId)) {
        this.ctx.warn({ job: msg.jobId, generation: msg.generation, worker: workerId, object: msg.object, expected: objectNames.checkpoint(msg.jobId) }, 'refused a checkpoint report naming an object the job was not given');
        return;
      }
      await this.opts.store.update(msg.jobId, (j) => {
        j.checkpointStep = msg.step;
        j.checkpointObject = msg.object;
      });
    });
  }

  stepReported(workerId: string, report: StepReport): void {
    stepReported(this.ctx, workerId, report, (write) => {
      void this.serial(write).catch((err) => this.ctx.warn({ job: report.jobId, err: String(err) }, 'could not store metrics'));
    });
  }

  jobFinished(workerId: string, msg: JobFinished): Promise<void> {
    return this.serial(async () => {
      await keepTimeline(this.ctx, workerId, msg);
      await trainingFinished(this.ctx, workerId, msg);
      await placeAndGrow(this.ctx);
    });
  }

  jobFailed(workerId: string, msg: JobFailed): Promise<void> {
    return this.serial(async () => {
      const run = this.running.get(msg.jobId);
      const worker = this.opts.pool.get(workerId);
      if (run && run.generation === msg.generation) {
        const rank = run.workers.indexOf(workerId);
        // A rank's error speaks of ranks (an all-reduce timeout names the ranks it waited for);
        // only the coordinator knows which workers those are.
        const ranks = run.workers.map((id, r) => `${r}=${id}`).join(', ');
        this.ctx.warn({ job: msg.jobId, generation: msg.generation, rank, worker: workerId, err: msg.error }, 'rank failed');
        await this.finish(msg.jobId, JobState.JOB_STATE_FAILED, `rank ${rank} (worker ${workerId}) failed: ${msg.error} (ranks of generation ${run.generation}: ${ranks})`, 'another rank failed');
      } else if (worker?.jobId === msg.jobId && !run?.workers.includes(workerId)) {
        // A stale report: free the worker only if no current generation of the job holds it.
        worker.jobId = undefined;
      }
      await placeAndGrow(this.ctx);
    });
  }

  private async finish(jobId: string, state: JobState, error: string, cancelReason: string): Promise<Job> {
    const run = this.running.get(jobId);
    this.running.delete(jobId);
    const updated = await this.opts.store.update(jobId, (j) => {
      j.state = state;
      j.error = error;
    });
    for (const id of run?.workers ?? []) {
      const w = this.opts.pool.get(id);
      if (!w || w.jobId !== jobId) continue;
      w.send({ msg: { $case: 'cancel', value: { jobId, reason: cancelReason } } });
      w.jobId = undefined;
    }
    this.ctx.log({ job: jobId, state: JobState[state], error }, 'job ended');
    this.announce(updated);
    return updated;
  }
}
