// Placement: pending jobs start on idle workers once enough are connected; running jobs below
// their maximum take idle workers in a new generation (elastic growth). Only workers of the
// accelerator a job asks for count (accelerators.ts); a job left waiting says why in its record.
import { JobState } from '@syncline/proto';
import { suits, waitReason } from './accelerators.js';
import type { SchedulingContext } from './context.js';
import { startGeneration } from './generations.js';
import type { ConnectedWorker } from './worker-pool.js';

/** A running generation is at least this old before idle workers join it. */
export const GROW_AFTER_MS = 3000;

export async function placeAndGrow(ctx: SchedulingContext): Promise<void> {
  const { pool, store } = ctx.opts;
  const jobs = await store.list();
  for (const job of jobs.filter((j) => j.state === JobState.JOB_STATE_PENDING)) {
    const idle = pool.idle();
    const { min, max } = job.spec!.workers!;
    const why = waitReason(job.spec, idle, min);
    if (why !== undefined) {
      // Only a wait for an accelerator is news worth a record write; other jobs keep their error.
      if (job.spec?.workers?.accelerator && job.spec.workers.accelerator !== 'any' && job.error !== why) {
        ctx.announce(await store.update(job.id, (j) => (j.error = why)));
      }
      continue;
    }
    await startGeneration(ctx, job, idle.filter((w) => suits(job.spec, w)).slice(0, max), job.generation > 0 ? 'resumed' : 'started');
  }
  // Growth waits until the current generation has run for a while, so that joins in a burst
  // become one change; a job whose training is over grows no more.
  for (const job of jobs.filter((j) => j.state === JobState.JOB_STATE_RUNNING)) {
    const run = ctx.running.get(job.id);
    const max = job.spec!.workers!.max;
    if (!run || run.finishing || run.workers.length >= max || Date.now() - run.startedAt < GROW_AFTER_MS) continue;
    const idle = pool.idle().filter((w) => !run.workers.includes(w.id) && suits(job.spec, w));
    if (idle.length === 0) continue;
    const current = run.workers.map((id) => pool.get(id)).filter((w): w is ConnectedWorker => w !== undefined);
    await startGeneration(ctx, job, [...current, ...idle].slice(0, max), `${Math.min(idle.length, max - current.length)} worker(s) joined`);
  }
}
