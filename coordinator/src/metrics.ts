// Prometheus metrics of the coordinator, served on GET /metrics.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { JobState } from '@syncline/proto';
import type { WorkerPool } from './scheduling/worker-pool.js';
import type { JobStore } from './store/job-store.js';

export interface CoordinatorMetrics {
  registry: Registry;
  steps: Counter;
}

export function createMetrics(pool: WorkerPool, store: JobStore): CoordinatorMetrics {
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
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  const steps = new Counter({ name: 'syncline_training_steps_total', help: 'Synchronous training steps completed', registers: [registry] });
  return { registry, steps };
}
