// Writes every job's event log from the coordinator's job events: record changes as
// transitions, each rank's errors (with the rank, from the generation's workers), lost workers,
// and step metrics sampled at most every `metricsIntervalMs` (the dashboard's curves after a
// reload or a coordinator restart). Appends are queued in order and never block the caller.
import { JobState, type Job, type JobLogEntry } from '@syncline/proto';
import type { Logger } from '@syncline/proto';
import type { JobEvent, JobEvents } from '../job-events.js';
import type { JobLogStore } from '../store/job-log-store.js';
import { entry, transitionEntries } from './transitions.js';

interface Seen {
  job?: Job;
  step: number;
  lastSampleMs: number;
  sampledGeneration: number;
}

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);
const MAX_JOBS_KEPT = 1000;

export class JobLogRecorder {
  private readonly seen = new Map<string, Seen>();
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Pick<JobLogStore, 'append'>,
    events: JobEvents,
    private readonly logger: Logger,
    private readonly metricsIntervalMs = 500,
  ) {
    this.unsubscribe = events.subscribeAll((jobId, event) => this.observe(jobId, event));
  }

  stop(): Promise<void> {
    this.unsubscribe();
    return this.queue;
  }

  /** Resolves once everything observed so far is stored. */
  flushed(): Promise<void> {
    return this.queue;
  }

  private state(jobId: string): Seen {
    let s = this.seen.get(jobId);
    if (!s) this.seen.set(jobId, (s = { step: 0, lastSampleMs: 0, sampledGeneration: 0 }));
    return s;
  }

  private forgetOldestEnded(): void {
    for (const [id, s] of this.seen) {
      if (s.job && TERMINAL.has(s.job.state)) {
        this.seen.delete(id);
        return;
      }
    }
  }

  private observe(jobId: string, event: JobEvent): void {
    const s = this.state(jobId);
    switch (event.kind) {
      case 'job': {
        const entries = transitionEntries(s.job, event.job, s.step);
        s.job = event.job;
        for (const e of entries) this.append(jobId, e);
        // Ended jobs stay known for a while: their other ranks' errors still arrive.
        if (TERMINAL.has(event.job.state) && this.seen.size > MAX_JOBS_KEPT) this.forgetOldestEnded();
        return;
      }
      case 'metrics': {
        const m = event.metrics;
        s.step = m.step;
        const now = Date.now();
        const generation = s.job?.generation ?? 0;
        const last = m.step >= m.totalSteps;
        // Held-out evaluations (epoch ends) are always kept: they are the held-out curve.
        if (last || m.heldoutExamples > 0 || generation !== s.sampledGeneration || now - s.lastSampleMs >= this.metricsIntervalMs) {
          s.lastSampleMs = now;
          s.sampledGeneration = generation;
          this.append(jobId, entry({ kind: 'metrics', message: `step ${m.step}`, generation, step: m.step, metrics: m }));
        }
        return;
      }
      case 'rank_failed': {
        const job = s.job;
        const rank = job && job.generation === event.generation ? job.workers.indexOf(event.workerId) : -1;
        this.append(jobId, entry({ kind: 'rank_failed', level: 'error', message: event.error, generation: event.generation, rank, workerId: event.workerId, step: s.step }));
        return;
      }
      case 'worker_lost': {
        const job = s.job;
        const rank = job ? job.workers.indexOf(event.workerId) : -1;
        this.append(jobId, entry({ kind: 'worker_lost', level: 'warn', message: `worker lost: ${event.reason}`, generation: job?.generation ?? 0, rank, workerId: event.workerId, step: s.step }));
        return;
      }
    }
  }

  private append(jobId: string, e: JobLogEntry): void {
    if (e.kind !== 'metrics') {
      this.logger[e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'info'](
        { job: jobId, event: e.kind, generation: e.generation, step: e.step, ...(e.rank >= 0 && { rank: e.rank }), ...(e.workerId && { worker: e.workerId }) },
        e.message,
      );
    }
    this.queue = this.queue.then(() =>
      this.store.append(jobId, e).catch((err: unknown) => this.logger.warn({ job: jobId, err: String(err) }, 'could not store a job log entry')),
    );
  }
}
