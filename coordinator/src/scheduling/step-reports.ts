// Rank 0's per-step metrics: live to WatchJob, now and then to the job record, and each rank's
// measured speed to the pool (the next job starts from shares in proportion).
import type { StepReport } from '@syncline/proto';
import type { SchedulingContext } from './context.js';

/** Runs outside the serial queue (it must be cheap); `persist` queues the record's update. */
export function stepReported(ctx: SchedulingContext, workerId: string, report: StepReport, persist: (write: () => Promise<void>) => void): void {
  const run = ctx.running.get(report.jobId);
  const metrics = report.metrics;
  if (!run || run.generation !== report.generation || run.workers[0] !== workerId || !metrics) return;
  run.step = metrics.step;
  // Rank 0 is past the last step: evaluation and upload follow.
  if (metrics.step >= metrics.totalSteps) run.finishing = true;
  ctx.opts.onStep?.();
  metrics.rankSamplesPerSecond.forEach((speed, rank) => {
    const w = ctx.opts.pool.get(run.workers[rank] ?? '');
    if (w && speed > 0) w.samplesPerSecond = speed;
  });
  ctx.opts.events.emit(report.jobId, { kind: 'metrics', metrics });
  const now = Date.now();
  const last = metrics.step >= metrics.totalSteps;
  if (last || now - run.lastPersist >= (ctx.opts.metricsPersistIntervalMs ?? 1000)) {
    run.lastPersist = now;
    persist(async () => {
      if (ctx.running.get(report.jobId) !== run) return;
      await ctx.opts.store.update(report.jobId, (j) => {
        j.lastMetrics = metrics;
      });
    });
  }
}
