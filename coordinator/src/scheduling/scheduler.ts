// The control loop: jobs wait (PENDING) until enough idle workers are connected, then run on
// a generation of ranked workers until rank 0 reports the published artifacts, a worker fails
// or is lost, or the user cancels. Every transition is written to the job store first and then
// announced, and all transitions run one at a time.
import { randomUUID } from 'node:crypto';
import {
  Job,
  JobState,
  objectNames,
  sharesFromSpeeds,
  stepsPerEpoch,
  type FinalMetrics,
  type JobFailed,
  type JobFinished,
  type JobSpec,
  type StepReport,
  type DatasetInfo,
  type CheckpointSaved,
} from '@syncline/proto';
import { JobNotFoundError, JobStateError } from '../errors.js';
import type { JobEvents } from '../job-events.js';
import { validateJobSpec } from '../spec/validate.js';
import type { JobStore } from '../store/job-store.js';
import type { ConnectedWorker, WorkerPool } from './worker-pool.js';

export interface Publisher {
  /** Registers rank 0's artifacts as the next version of the job's model; returns its reference. */
  publish(job: Job, artifactPrefix: string, metrics: FinalMetrics | undefined): Promise<Job['model']>;
}

export interface SchedulerOptions {
  store: JobStore;
  pool: WorkerPool;
  events: JobEvents;
  publisher: Publisher;
  allreduceTimeoutSeconds: number;
  log?: (line: string) => void;
  /** Minimum milliseconds between two writes of a running job's latest step metrics. */
  metricsPersistIntervalMs?: number;
  /** Keeps a rank's timeline (JSON trace events) of a job that asked for one. */
  saveTimeline?: (jobId: string, generation: number, rank: number, events: Uint8Array) => Promise<void>;
  /** Called for every step report of a running job (metrics export). */
  onStep?: () => void;
}

const TERMINAL: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

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

interface Running {
  generation: number;
  workers: string[];
  lastPersist: number;
  /** The last step rank 0 reported (the stored one lags by up to metricsPersistIntervalMs). */
  step: number;
  startedAt: number;
  /** Some rank reported the end of training: the generation must not change any more. */
  finishing?: boolean;
}

/** A running generation is at least this old before idle workers join it. */
const GROW_AFTER_MS = 3000;
/** Membership changes after which a job is failed rather than restarted again. */
const MAX_MEMBERSHIP_CHANGES = 50;

export class Scheduler {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly running = new Map<string, Running>();

  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SchedulerOptions) {}

  /** Re-checks waiting and growable jobs now and then (a generation becomes old enough to grow). */
  startTicker(intervalMs = 1000): void {
    this.ticker = setInterval(() => {
      if (this.opts.pool.idle().length > 0) void this.serial(() => this.scheduleLocked()).catch((err) => this.log(`scheduling failed: ${String(err)}`));
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

  private log(line: string): void {
    this.opts.log?.(line);
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
        this.log(`job ${job.id}: requeued after coordinator restart`);
        this.announce(updated);
      }
      await this.scheduleLocked();
    });
  }

  /** `userDatasets`: descriptions of uploaded datasets the spec may name. */
  submit(spec: JobSpec | undefined, userDatasets: Readonly<Record<string, DatasetInfo>> = {}): Promise<Job> {
    const normalized = validateJobSpec(spec, userDatasets);
    return this.serial(async () => {
      const now = Date.now();
      const job = Job.fromPartial({
        id: `job-${randomUUID().slice(0, 8)}`,
        spec: normalized,
        state: JobState.JOB_STATE_PENDING,
        createdUnixMs: now,
        updatedUnixMs: now,
        totalSteps: plannedSteps(normalized),
      });
      await this.opts.store.create(job);
      this.log(`job ${job.id}: submitted (${normalized.name})`);
      this.announce(job);
      await this.scheduleLocked();
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
      await this.scheduleLocked();
      return updated;
    });
  }

  workerJoined(): Promise<void> {
    return this.serial(() => this.scheduleLocked());
  }

  /**
   * A worker closed its stream or stopped heartbeating. Its job goes on without it: a new
   * generation of the survivors (and idle workers, up to the maximum) continues from the last
   * completed step; with too few workers left the job waits (PENDING) and later resumes from
   * its last checkpoint. Nothing half-trained is ever published.
   */
  workerLost(workerId: string, reason: string): Promise<void> {
    return this.serial(async () => {
      const worker = this.opts.pool.remove(workerId);
      const jobId = worker?.jobId;
      const run = jobId === undefined ? undefined : this.running.get(jobId);
      if (jobId && run) {
        this.log(`job ${jobId}: worker ${workerId} lost after step ${run.step} (${reason})`);
        const job = await this.opts.store.get(jobId);
        if (job) await this.recoverFromLoss(job, run, workerId, reason);
      }
      await this.scheduleLocked();
    });
  }

  private async recoverFromLoss(job: Job, run: Running, lostId: string, reason: string): Promise<void> {
    const lost = `worker ${lostId} was lost after step ${run.step} (${reason})`;
    if (job.membershipChanges >= MAX_MEMBERSHIP_CHANGES) {
      await this.finish(job.id, JobState.JOB_STATE_FAILED, `${lost}; the job already changed membership ${job.membershipChanges} times, giving up`, 'too many membership changes');
      return;
    }
    const survivors = run.workers
      .filter((id) => id !== lostId)
      .map((id) => this.opts.pool.get(id))
      .filter((w): w is ConnectedWorker => w !== undefined && w.jobId === job.id);
    const { min, max } = job.spec!.workers!;
    const candidates = [...survivors, ...this.opts.pool.idle()].slice(0, max);
    if (candidates.length >= min) {
      await this.startGeneration(job, candidates, `${lost}; continuing with ${candidates.length}`);
      return;
    }
    // Too few workers: free the survivors and wait; the job resumes from its checkpoint.
    this.running.delete(job.id);
    for (const w of survivors) {
      w.send({ msg: { $case: 'cancel', value: { jobId: job.id, reason: 'waiting for workers' } } });
      w.jobId = undefined;
    }
    const updated = await this.opts.store.update(job.id, (j) => {
      j.state = JobState.JOB_STATE_PENDING;
      j.workers = [];
      j.error = `${lost}; waiting for ${min} workers, then resuming from ${j.checkpointStep > 0 ? `the checkpoint at step ${j.checkpointStep}` : 'step 0 (no checkpoint yet)'}`;
    });
    this.announce(updated);
  }

  /** Rank 0 stored a checkpoint: remember it, so a restart resumes from there. */
  checkpointSaved(workerId: string, msg: CheckpointSaved): Promise<void> {
    return this.serial(async () => {
      const run = this.running.get(msg.jobId);
      if (!run || run.generation !== msg.generation || run.workers[0] !== workerId) return;
      await this.opts.store.update(msg.jobId, (j) => {
        j.checkpointStep = msg.step;
        j.checkpointObject = msg.object;
      });
    });
  }

  stepReported(workerId: string, report: StepReport): void {
    const run = this.running.get(report.jobId);
    if (!run || run.generation !== report.generation || run.workers[0] !== workerId || !report.metrics) return;
    run.step = report.metrics.step;
    this.opts.onStep?.();
    // Remember each worker's measured speed: the next job starts from shares in proportion.
    report.metrics.rankSamplesPerSecond.forEach((speed, rank) => {
      const w = this.opts.pool.get(run.workers[rank] ?? '');
      if (w && speed > 0) w.samplesPerSecond = speed;
    });
    this.opts.events.emit(report.jobId, { kind: 'metrics', metrics: report.metrics });
    const now = Date.now();
    const last = report.metrics.step >= report.metrics.totalSteps;
    if (last || now - run.lastPersist >= (this.opts.metricsPersistIntervalMs ?? 1000)) {
      run.lastPersist = now;
      const metrics = report.metrics;
      void this.serial(async () => {
        if (this.running.get(report.jobId) !== run) return;
        await this.opts.store.update(report.jobId, (j) => {
          j.lastMetrics = metrics;
        });
      }).catch((err) => this.log(`job ${report.jobId}: could not store metrics: ${String(err)}`));
    }
  }

  jobFinished(workerId: string, msg: JobFinished): Promise<void> {
    return this.serial(async () => {
      const run = this.running.get(msg.jobId);
      const worker = this.opts.pool.get(workerId);
      if (msg.timeline.length > 0 && this.opts.saveTimeline) {
        // Ranks finish in any order, also after rank 0 ended the job: find the rank in the record.
        const record = await this.opts.store.get(msg.jobId);
        const rank = record && record.generation === msg.generation ? record.workers.indexOf(workerId) : -1;
        if (rank >= 0) {
          await this.opts.saveTimeline(msg.jobId, msg.generation, rank, msg.timeline).catch((err) =>
            this.log(`job ${msg.jobId}: could not store a timeline: ${String(err)}`),
          );
        }
      }
      if (!run || run.generation !== msg.generation) {
        if (worker?.jobId === msg.jobId) worker.jobId = undefined;
        await this.scheduleLocked();
        return;
      }
      if (run.workers[0] !== workerId) {
        // Other ranks are done; rank 0 publishes and decides the outcome.
        run.finishing = true;
        if (worker) worker.jobId = undefined;
        await this.scheduleLocked();
        return;
      }
      const job = await this.opts.store.get(msg.jobId);
      if (!job) return;
      try {
        const model = await this.opts.publisher.publish(job, msg.artifactPrefix, msg.metrics);
        this.running.delete(msg.jobId);
        const updated = await this.opts.store.update(msg.jobId, (j) => {
          j.state = JobState.JOB_STATE_SUCCEEDED;
          j.result = msg.metrics;
          j.model = model;
          j.error = '';
        });
        this.log(`job ${msg.jobId}: succeeded, accuracy ${msg.metrics?.accuracy.toFixed(4)}, published ${model?.name} v${model?.version}`);
        if (worker) worker.jobId = undefined;
        this.announce(updated);
      } catch (err) {
        await this.finish(msg.jobId, JobState.JOB_STATE_FAILED, `publishing the model failed: ${err instanceof Error ? err.message : String(err)}`, 'publish failed');
      }
      await this.scheduleLocked();
    });
  }

  jobFailed(workerId: string, msg: JobFailed): Promise<void> {
    return this.serial(async () => {
      const run = this.running.get(msg.jobId);
      const worker = this.opts.pool.get(workerId);
      if (worker?.jobId === msg.jobId) worker.jobId = undefined;
      if (run && run.generation === msg.generation) {
        const rank = run.workers.indexOf(workerId);
        // A rank's error speaks of ranks (an all-reduce timeout names the ranks it waited for);
        // only the coordinator knows which workers those are.
        const ranks = run.workers.map((id, r) => `${r}=${id}`).join(', ');
        await this.finish(
          msg.jobId,
          JobState.JOB_STATE_FAILED,
          `rank ${rank} (worker ${workerId}) failed: ${msg.error} (ranks of generation ${run.generation}: ${ranks})`,
          'another rank failed',
        );
      }
      await this.scheduleLocked();
    });
  }

  /** Ends a running or pending job: store first, then tell its workers and free them. */
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
    this.announce(updated);
    return updated;
  }

  /**
   * Puts `chosen` on the job as a new generation; the first is rank 0. A worker that trained
   * the previous generation goes on from its own state, handed to the others by rank 0; rank 0
   * without one starts from the job's last checkpoint.
   */
  private async startGeneration(job: Job, chosen: ConnectedWorker[], why: string): Promise<void> {
    const generation = job.generation + 1;
    const ids = chosen.map((w) => w.id);
    for (const w of chosen) w.jobId = job.id;
    this.running.set(job.id, { generation, workers: ids, lastPersist: 0, step: job.checkpointStep, startedAt: Date.now() });
    const changed = job.generation > 0;
    const updated = await this.opts.store.update(job.id, (j) => {
      j.state = JobState.JOB_STATE_RUNNING;
      j.generation = generation;
      j.workers = ids;
      if (changed) j.membershipChanges += 1;
    });
    this.log(`job ${job.id}: running on ${ids.length} workers (generation ${generation}${why ? `: ${why}` : ''})`);
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
            allreduceTimeoutSeconds: this.opts.allreduceTimeoutSeconds,
            checkpoint: job.checkpointStep > 0 ? job.checkpointObject : '',
            checkpointObject: objectNames.checkpoint(job.id),
          },
        },
      });
    });
    this.announce(updated);
  }

  private async scheduleLocked(): Promise<void> {
    const jobs = await this.opts.store.list();
    for (const job of jobs.filter((j) => j.state === JobState.JOB_STATE_PENDING)) {
      const idle = this.opts.pool.idle();
      const { min, max } = job.spec!.workers!;
      if (idle.length < min) continue;
      await this.startGeneration(job, idle.slice(0, max), job.generation > 0 ? 'resumed' : '');
    }
    // Elastic growth: a running job below its maximum takes idle workers in a new generation,
    // once its current generation has run for a while (so joins in a burst become one change).
    for (const job of jobs.filter((j) => j.state === JobState.JOB_STATE_RUNNING)) {
      const run = this.running.get(job.id);
      const max = job.spec!.workers!.max;
      if (!run || run.finishing || run.workers.length >= max || Date.now() - run.startedAt < GROW_AFTER_MS) continue;
      const idle = this.opts.pool.idle().filter((w) => !run.workers.includes(w.id));
      if (idle.length === 0) continue;
      const current = run.workers.map((id) => this.opts.pool.get(id)).filter((w): w is ConnectedWorker => w !== undefined);
      await this.startGeneration(job, [...current, ...idle].slice(0, max), `${Math.min(idle.length, max - current.length)} worker(s) joined`);
    }
  }
}
