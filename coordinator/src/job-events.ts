// In-process fan-out of what happens to jobs: to WatchJob streams (one job), and to the job
// log, the per-job metrics and the dashboard (every job).
import { EventEmitter } from 'node:events';
import type { Job, StepMetrics } from '@syncline/proto';

export type JobEvent =
  /** The stored record changed (state, generation, workers, result...). */
  | { kind: 'job'; job: Job }
  /** Rank 0 reported a step. */
  | { kind: 'metrics'; metrics: StepMetrics }
  /** A rank reported an error (every rank's, not only the first that failed the job). */
  | { kind: 'rank_failed'; workerId: string; generation: number; error: string }
  /** A worker training the job closed its stream or stopped heartbeating. */
  | { kind: 'worker_lost'; workerId: string; reason: string };

const ANY = Symbol('any job');

export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every WatchJob stream is a listener; there is no meaningful small bound.
    this.emitter.setMaxListeners(0);
  }

  emit(jobId: string, event: JobEvent): void {
    this.emitter.emit(jobId, event);
    this.emitter.emit(ANY, jobId, event);
  }

  /** Returns the function that unsubscribes. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }

  /** Every event of every job. Returns the function that unsubscribes. */
  subscribeAll(listener: (jobId: string, event: JobEvent) => void): () => void {
    this.emitter.on(ANY, listener);
    return () => this.emitter.off(ANY, listener);
  }
}
