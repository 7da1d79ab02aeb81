// In-process fan-out of job changes to WatchJob streams.
import { EventEmitter } from 'node:events';
import type { Job, StepMetrics } from '@syncline/proto';

export type JobEvent = { kind: 'job'; job: Job } | { kind: 'metrics'; metrics: StepMetrics };

export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every WatchJob stream is a listener; there is no meaningful small bound.
    this.emitter.setMaxListeners(0);
  }

  emit(jobId: string, event: JobEvent): void {
    this.emitter.emit(jobId, event);
  }

  /** Returns the function that unsubscribes. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }
}
