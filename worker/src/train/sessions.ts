// A worker's state of the jobs it trains, kept across generations and across reconnects to
// the coordinator, so that survivors of a membership change go on from where they were.
import type { EpochMetrics } from './epoch-metrics.js';
import type { JobSession } from './generation-start.js';

export class JobSessions {
  private readonly sessions = new Map<string, JobSession & { metrics?: EpochMetrics }>();

  /** The session of `jobId`; sessions of other jobs are freed (a worker trains one job at a time). */
  for(jobId: string): JobSession & { metrics?: EpochMetrics } {
    for (const id of [...this.sessions.keys()]) if (id !== jobId) this.drop(id);
    let s = this.sessions.get(jobId);
    if (!s) {
      s = { step: 0 };
      this.sessions.set(jobId, s);
    }
    return s;
  }

  drop(jobId: string): void {
    this.sessions.get(jobId)?.replica?.dispose();
    this.sessions.delete(jobId);
  }

  clear(): void {
    for (const id of [...this.sessions.keys()]) this.drop(id);
  }
}
