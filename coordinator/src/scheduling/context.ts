// What the parts of the scheduler share: the stores and the pool, the running generations, and
// the few operations every transition uses. All of them run inside Scheduler's serial queue.
import { JobState, type FinalMetrics, type Job, type Logger, type NatsCredentials } from '@syncline/proto';
import type { JobEvents } from '../job-events.js';
import type { JobStore } from '../store/job-store.js';
import type { WorkerPool } from './worker-pool.js';

export interface Publisher {
  /** Registers rank 0's artifacts as the next version of the job's model; returns its reference. */
  publish(job: Job, artifactPrefix: string, metrics: FinalMetrics | undefined): Promise<Job['model']>;
  /** The model version already registered for these artifacts, if any (a publish retried after an outage). */
  published(job: Job, artifactPrefix: string): Promise<Job['model'] | undefined>;
}

export interface SchedulerOptions {
  store: JobStore;
  pool: WorkerPool;
  events: JobEvents;
  publisher: Publisher;
  allreduceTimeoutSeconds: number;
  logger?: Logger;
  /** Minimum milliseconds between two writes of a running job's latest step metrics. */
  metricsPersistIntervalMs?: number;
  /** Keeps a rank's timeline (JSON trace events) of a job that asked for one. */
  saveTimeline?: (jobId: string, generation: number, rank: number, events: Uint8Array) => Promise<void>;
  /** Called for every step report of a running job (metrics export). */
  onStep?: () => void;
  /** The NATS credentials each assignment carries (nats-auth/job-access.ts); none without it. */
  natsAccess?: { forWorker(job: Job): Promise<NatsCredentials> };
}

/** A job's current generation, as the coordinator runs it. */
export interface Running {
  generation: number;
  /** Worker ids by rank. */
  workers: string[];
  lastPersist: number;
  /** The last step rank 0 reported (the stored one lags by up to metricsPersistIntervalMs). */
  step: number;
  totalSteps: number;
  startedAt: number;
  /**
   * Training is over (rank 0 reported the last step, or some rank its end): the generation
   * changes no more for growth, and losing a rank other than 0 changes nothing.
   */
  finishing?: boolean;
}

export interface SchedulingContext {
  readonly opts: SchedulerOptions;
  readonly running: Map<string, Running>;
  log(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  announce(job: Job): Job;
  /** Ends a running or pending job: store first, then tell its workers and free them. */
  finish(jobId: string, state: JobState, error: string, cancelReason: string): Promise<Job>;
  /** Places pending jobs on idle workers and grows running ones. */
  schedule(): Promise<void>;
}

const TERMINAL: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}
