// Prometheus metrics of the coordinator, served on GET /metrics: process, workers, jobs by
// state, steps, and the per-job series of job-metrics.ts.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { JobState } from '@syncline/proto';
import type { JobEvents } from './job-events.js';
import { JobMetrics, type JobMetricsOptions } from './job-metrics.js';
import type { WorkerPool } from './scheduling/worker-pool.js';
import type { JobStore } from './store/job-store.js';

export interface CoordinatorMetrics {
  registry: Registry;
  steps: Counter;
  jobs: JobMetrics;
}

export function createMetrics(pool: WorkerPool, store: JobStore, events: JobEvents, jobOptions: JobMetricsOptions = {}): CoordinatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'syncline_coordinator_' });
  new Gauge({
    name: 'syncline_workers_connected',
    help: 'Workers with an open Join stream',
    registers: [registry],
    labelNames: ['busy'],
    collect() {
      const all = pool.all();
      this.set({ busy: 'true' }, all.filter((w) => w.jobId).length);
      this.set({ busy: 'false' }, all.filter((w) => !w.jobId).length);
    },
  });
  new Gauge({
    name: 'syncline_jobs',
    help: 'Jobs by state',
    registers: [registry],
    labelNames: ['state'],
    async collect() {
      const counts = new Map<string, number>();
      for (const job of await store.list()) {
        const state = JobState[job.state].replace('JOB_STATE_', '').toLowerCase();
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      // Every state, so a state no job is in any more reads 0 rather than its last count.
      this.reset();
      for (const state of Object.keys(JobState).filter((k) => k.startsWith('JOB_STATE_') && k !== 'JOB_STATE_UNSPECIFIED')) {
        const name = state.replace('JOB_STATE_', '').toLowerCase();
        this.set({ state: name }, counts.get(name) ?? 0);
      }
    },
  });
  const steps = new Counter({ name: 'syncline_training_steps_total', help: 'Synchronous training steps completed', registers: [registry] });
  return { registry, steps, jobs: new JobMetrics(registry, events, jobOptions) };
}
