// The end of a job: ranks report that training is over; rank 0's report carries its uploaded
// model, which is registered as the job's next model version, and the job SUCCEEDS.
import { JobState, objectNames, retryTransient, type JobFinished } from '@syncline/proto';
import type { SchedulingContext } from './context.js';

export async function trainingFinished(ctx: SchedulingContext, workerId: string, msg: JobFinished): Promise<void> {
  const run = ctx.running.get(msg.jobId);
  const worker = ctx.opts.pool.get(workerId);
  if (!run || run.generation !== msg.generation) {
    // A report of an older generation (or an ended job): nothing to do, unless the worker
    // belongs to no current generation of the job; a worker that trains the next one stays.
    if (worker?.jobId === msg.jobId && !run?.workers.includes(workerId)) worker.jobId = undefined;
    return;
  }
  run.finishing = true;
  // Other ranks keep their state, and stay with the job, until rank 0 has published: if rank 0
  // is lost now, one of them takes over from the finished state.
  if (run.workers[0] !== workerId) return;
  const job = await ctx.opts.store.get(msg.jobId);
  if (!job) return;
  const fields = { job: msg.jobId, generation: msg.generation };
  // Only what the job was given is published: a worker cannot publish another job's files (or a
  // checkpoint) under this job's model name.
  const assigned = objectNames.artifactPrefix(msg.jobId, msg.generation);
  if (msg.artifactPrefix !== assigned) {
    ctx.warn({ ...fields, worker: workerId, reported: msg.artifactPrefix, assigned }, 'refused rank 0\'s report: artifacts not where the job was told to put them');
    await ctx.finish(msg.jobId, JobState.JOB_STATE_FAILED, `rank 0 (worker ${workerId}) reported its model under ${JSON.stringify(msg.artifactPrefix)}, not under ${assigned} where it was assigned; refused`, 'bad artifact report');
    return;
  }
  try {
    const model = await retryTransient(
      async () => (await ctx.opts.publisher.published(job, msg.artifactPrefix)) ?? (await ctx.opts.publisher.publish(job, msg.artifactPrefix, msg.metrics)),
      { onRetry: (err, attempt, delayMs) => ctx.warn({ ...fields, attempt, delayMs, err: String(err) }, 'publishing the model failed; retrying') },
    );
    ctx.running.delete(msg.jobId);
    const updated = await ctx.opts.store.update(msg.jobId, (j) => {
      j.state = JobState.JOB_STATE_SUCCEEDED;
      j.result = msg.metrics;
      j.model = model;
      j.error = '';
    });
    const stop = msg.metrics?.earlyStop;
    ctx.log({ ...fields, accuracy: msg.metrics?.accuracy, loss: msg.metrics?.loss, model: model?.name, version: model?.version, ...(stop ? { stoppedEarlyAt: stop.step, stoppedBecause: stop.reason } : {}) }, stop ? 'job succeeded: stopped early' : 'job succeeded');
    for (const id of run.workers) {
      const w = ctx.opts.pool.get(id);
      if (!w || w.jobId !== msg.jobId) continue;
      // The other ranks drop the state they kept for a hand-over.
      if (id !== workerId) w.send({ msg: { $case: 'cancel', value: { jobId: msg.jobId, reason: 'job succeeded' } } });
      w.jobId = undefined;
    }
    ctx.announce(updated);
  } catch (err) {
    await ctx.finish(msg.jobId, JobState.JOB_STATE_FAILED, `publishing the model failed: ${err instanceof Error ? err.message : String(err)}`, 'publish failed');
  }
}
